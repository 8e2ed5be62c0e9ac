//! `sluice bench produce` and `sluice bench consume`: bounded load
//! generators (a message count and an overall timeout) that show a
//! progress bar on stderr and end with a [`report::Report`]: throughput
//! and an HDR histogram of latencies, as text or (`--json`) one JSON
//! object on stdout.

mod acks;
pub mod consume;
pub mod produce;
pub mod report;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Produce N messages of a given size; latency is send -> ack per message.
    Produce(produce::Args),
    /// Consume N messages from the earliest offsets (or, with --follow, as
    /// they are produced); latency is end to end (record timestamp -> receipt).
    Consume(consume::Args),
}

pub async fn run(broker: &str, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Produce(args) => produce::run(broker, args).await,
        Command::Consume(args) => consume::run(broker, args).await,
    }
}

/// Splits `total` into `parts` shares that differ by at most one.
fn share(total: u64, parts: u64, index: u64) -> u64 {
    total / parts + u64::from(index < total % parts)
}

#[cfg(test)]
mod tests {
    #[test]
    fn shares_add_up() {
        for (total, parts) in [(10, 3), (1, 4), (1_000_000, 7)] {
            let sum: u64 = (0..parts).map(|i| super::share(total, parts, i)).sum();
            assert_eq!(sum, total);
        }
        assert_eq!(super::share(10, 3, 0), 4);
        assert_eq!(super::share(10, 3, 2), 3);
    }
}
