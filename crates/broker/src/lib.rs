//! The Sluice broker: topics of partition logs served over the native
//! protocol and, optionally, the Kafka protocol, with produce
//! acknowledgements by `acks`, long-poll fetches sent zero-copy from
//! segment files, and durable consumer group offsets.
//!
//! # Layout
//!
//! - [`broker`] — [`Broker::start`] / [`BrokerHandle`] (in-process start and
//!   clean shutdown) and [`run`], what the binary does.
//! - [`config`] — [`BrokerConfig`]; flags > `SLUICE_*` environment > TOML
//!   file > defaults.
//! - [`native_api`] — the native protocol handlers: one module per request type behind one dispatch,
//!   [`native_api::NativeApi`], the `sluice_network::Handler` of the broker.
//! - [`kafka_api`] — the Kafka protocol handlers, [`kafka_api::KafkaApi`] (the
//!   `sluice_network::KafkaHandler`), one module per api family.
//! - [`group`] — the Kafka consumer group coordinator: plain state machine
//!   ([`group::state`]) and its async shell (timers, waiting requests).
//! - [`producers`] — idempotent producers: durable producer ids and the
//!   per-partition sequence state.
//! - `long_poll`: the fetch wait shared by both protocols.
//! - [`topics`] — the topic registry, its on-disk layout and recovery;
//!   [`partition`] — a log plus the append signal long polls wait on.
//! - [`offsets`] — committed consumer group offsets in an internal log.
//! - `background`: interval flush and retention.
//! - [`errors`] — [`errors::ApiError`], [`errors::BrokerError`] and the one
//!   mapping from storage errors to wire codes.
//! - `persist`: atomic small-file writes (temp file, fsync, rename).
//! - `parallel`: blocking file work over many partitions on a few threads.
//!
//! Operating notes (flags, defaults, on-disk layout) are in
//! `docs/broker.md`.
//!
//! # Example
//!
//! ```no_run
//! use sluice_broker::{Broker, BrokerConfig};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = BrokerConfig {
//!     data_dir: "/tmp/sluice-example".into(),
//!     listen: "127.0.0.1:0".into(),
//!     ..BrokerConfig::default()
//! };
//! let broker = Broker::start(config).await?;
//! println!("serving on {}", broker.local_addr());
//! broker.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod background;
pub mod broker;
pub mod config;
pub mod errors;
mod fd_budget;
mod fetch_budget;
mod file_range;
pub mod group;
pub mod kafka_api;
mod long_poll;
pub mod native_api;
pub mod offsets;
mod parallel;
pub mod partition;
mod persist;
pub mod producers;
pub mod state;
pub mod topics;

pub use broker::{Broker, BrokerHandle, run};
pub use config::{BrokerConfig, Cli, LogFormat};
