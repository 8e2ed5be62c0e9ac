//! The command tree. Each command's own flags live in its module
//! (`cmd::produce::Args`, ...); this file only assembles them.

use clap::{ArgAction, Parser, Subcommand};
use sluice_client::DEFAULT_BROKER;

use crate::cmd::{bench, consume, group, produce, topic};

/// Command line tool for the Sluice log broker.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about, propagate_version = true)]
pub struct Cli {
    /// Broker address HOST:PORT.
    #[arg(long, global = true, env = "SLUICE_BROKER", default_value = DEFAULT_BROKER,
          value_parser = parse_broker)]
    pub broker: String,
    /// More log output on stderr (-v warn, -vv info, -vvv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, list, describe and delete topics.
    #[command(subcommand)]
    Topic(topic::Command),
    /// Produce one message per line of stdin.
    Produce(produce::Args),
    /// Print messages, one per line (or as --format says).
    Consume(consume::Args),
    /// List consumer groups; describe members, assignments, offsets and lag.
    #[command(subcommand)]
    Group(group::Command),
    /// Load generators with a latency and throughput report.
    #[command(subcommand)]
    Bench(bench::Command),
}

/// Accepts `HOST:PORT` with a numeric port, so a typo fails at once
/// instead of after connection retries.
fn parse_broker(s: &str) -> Result<String, String> {
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("{s:?} is not HOST:PORT"))?;
    if host.is_empty() {
        return Err(format!("{s:?} has no host"));
    }
    port.parse::<u16>()
        .map_err(|_| format!("{s:?}: port {port:?} is not a number from 0 to 65535"))?;
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_address() {
        assert!(parse_broker("127.0.0.1:9393").is_ok());
        assert!(parse_broker("localhost:1").is_ok());
        assert!(parse_broker("[::1]:9393").is_ok());
        assert!(parse_broker("localhost").is_err());
        assert!(parse_broker(":9393").is_err());
        assert!(parse_broker("host:99999").is_err());
    }

    #[test]
    fn produce_compression_and_group_commands_parse() {
        let cli = Cli::try_parse_from(["sluice", "produce", "t", "--compression", "zstd"]).unwrap();
        let Command::Produce(args) = cli.command else {
            panic!("not produce");
        };
        assert_eq!(args.compression, sluice_client::CompressionType::Zstd);
        let cli = Cli::try_parse_from(["sluice", "produce", "t"]).unwrap();
        let Command::Produce(args) = cli.command else {
            panic!("not produce");
        };
        assert_eq!(args.compression, sluice_client::CompressionType::None);
        assert!(Cli::try_parse_from(["sluice", "produce", "t", "--compression", "lzma"]).is_err());
        assert!(Cli::try_parse_from(["sluice", "group", "describe", "g"]).is_ok());
        assert!(Cli::try_parse_from(["sluice", "group", "describe"]).is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
