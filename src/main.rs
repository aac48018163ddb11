//! The `gen` binary: argument parsing and rendering only; all work happens in
//! the library (`gen::ops`).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
