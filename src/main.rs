//! The `refgraph` command: a thin clap front end over the library. Each
//! subcommand lives in its own file under `cli/`.

mod cli;

// The library does not install its allocator (a crate that links refgraph
// keeps its own); the binaries built from it do. See `refgraph::alloc`.
// Built with `--features python`, the library carries the extension module's
// declaration (src/python/mod.rs) into this binary too, and there may be only
// one.
#[cfg(all(target_os = "linux", not(feature = "python")))]
#[global_allocator]
static ALLOCATOR: refgraph::alloc::Allocator = refgraph::alloc::Allocator;

fn main() {
    std::process::exit(cli::main());
}
