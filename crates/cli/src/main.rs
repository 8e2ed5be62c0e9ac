//! `sluice`: parse the arguments, run the command, turn an error into one
//! line on stderr and a non-zero exit.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = sluice_cli::Cli::parse();
    match sluice_cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` joins the context chain on one line: "consume orders:
            // broker error: unknown topic or partition (3): topic orders".
            eprintln!("sluice: {}", one_line(&format!("{error:#}")));
            ExitCode::FAILURE
        }
    }
}

/// Error texts from other crates may span lines; the contract is one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
