//! (in progress) Version-specific CPython layouts.
pub mod managed_dict;
