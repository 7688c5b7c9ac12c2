//! The `refgraph` command. The CLI lives in the library (`refgraph::cli`),
//! so that the Python extension carries the same command for `pip install`
//! (`refgraph._native.cli_main`, the `refgraph` console script).

// The library does not install its allocator (a crate that links refgraph
// keeps its own); the binaries built from it do. See `refgraph::alloc`.
// Built with `--features python`, the library carries the extension module's
// declaration (src/python/mod.rs) into this binary too, and there may be only
// one.
#[cfg(all(target_os = "linux", not(feature = "python")))]
#[global_allocator]
static ALLOCATOR: refgraph::alloc::Allocator = refgraph::alloc::Allocator;

fn main() {
    std::process::exit(refgraph::cli::main());
}
