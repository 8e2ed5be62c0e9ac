//! One module per command, and what they share: connecting to the broker,
//! with or without retries.

pub mod bench;
pub mod consume;
pub mod format;
pub mod group;
pub mod produce;
pub mod topic;

use std::future::Future;
use std::time::Duration;

use sluice_client::{Client, ClientConfig, ClientError};

use crate::args::{Cli, Command};

/// Dispatches a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let broker = cli.broker.as_str();
    match cli.command {
        Command::Topic(command) => topic::run(broker, command).await,
        Command::Produce(args) => produce::run(broker, args).await,
        Command::Consume(args) => consume::run(broker, args).await,
        Command::Group(command) => group::run(broker, command).await,
        Command::Bench(command) => bench::run(broker, command).await,
    }
}

fn client_config() -> ClientConfig {
    ClientConfig {
        client_id: format!("sluice-cli/{}", env!("CARGO_PKG_VERSION")),
        ..ClientConfig::default()
    }
}

/// Connects once; a refused connection is an error at once.
pub async fn connect(broker: &str) -> Result<Client, ClientError> {
    Client::connect_with(broker, client_config()).await
}

/// How often, and how patiently, an operation failing with a retriable
/// error is tried again.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Tries after the first one.
    pub retries: u32,
    /// Wait before the first retry; doubles up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Retry {
    /// The wait before retry number `attempt` (0-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        self.backoff
            .saturating_mul(1 << attempt.min(16))
            .min(self.max_backoff)
    }

    /// Runs `op` until it succeeds, fails with an error that is not
    /// retriable, or the retries are used up.
    pub async fn run<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T, ClientError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let mut attempt = 0;
        loop {
            match op().await {
                Ok(value) => return Ok(value),
                Err(e) if e.is_retriable() && attempt < self.retries => {
                    let backoff = self.delay(attempt);
                    tracing::warn!(error = %e, attempt = attempt + 1, ?backoff, "{what}: retrying");
                    tokio::time::sleep(backoff).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_up_to_the_cap() {
        let r = Retry {
            retries: 5,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
        };
        let delays: Vec<u128> = (0..5).map(|a| r.delay(a).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
    }
}
