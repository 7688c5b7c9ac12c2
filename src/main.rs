//! The `refgraph` command: a thin clap front end over the library. Each
//! subcommand lives in its own file under `cli/`.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
