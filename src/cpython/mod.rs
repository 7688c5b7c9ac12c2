//! (in progress) Version-specific CPython layouts.
