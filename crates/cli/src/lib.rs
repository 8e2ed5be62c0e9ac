//! The `sluice` command line tool: topic administration, a line-oriented
//! producer and consumer in the style of Kafka's console tools and kcat,
//! and a load generator in the style of kafka-producer-perf-test.
//!
//! # Layout
//!
//! | module | idea |
//! |---|---|
//! | `args` | [`Cli`]: the global flags and the command tree (clap derive) |
//! | `cmd` | one module per command, each with its `Args` and an async `run`; shared connect helpers |
//! | `cmd::group` | `group list` / `group describe`: tables of groups, members, assignments, offsets and lag |
//! | `cmd::format` | kcat-style `--format` strings: parsed once, rendered per record |
//! | `cmd::bench` | `bench produce` / `bench consume`, the per-partition ack collector, the report (HDR histogram, JSON) |
//!
//! `main` parses the arguments and calls [`run`], which builds the tokio
//! runtime, installs the log subscriber (stderr, `RUST_LOG` or `-v`) and
//! dispatches. Every failure comes back as one `anyhow::Error`, printed by
//! `main` as a single line.
//!
//! # Example
//!
//! ```
//! use clap::Parser;
//! use sluice_cli::Cli;
//!
//! let cli = Cli::try_parse_from(["sluice", "--broker", "127.0.0.1:9000", "topic", "list"])
//!     .expect("valid arguments");
//! assert_eq!(cli.broker, "127.0.0.1:9000");
//! ```

mod args;
mod cmd;

pub use args::{Cli, Command};

use tracing_subscriber::EnvFilter;

/// Runs one parsed command line to completion.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    init_logging(cli.verbose);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    runtime.block_on(cmd::run(cli))
}

/// Logs go to stderr, so stdout carries only data. Quiet by default: the
/// client logs retries at `warn`, which `-v` shows.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "error",
        1 => "warn",
        2 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
