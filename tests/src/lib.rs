//! A harness for end-to-end tests of the real binaries: it starts
//! `sluice-broker` as a process on a free loopback port with a temporary
//! data directory, kills it (SIGKILL) and restarts it on the same directory
//! and port, and runs the `sluice` command with a bounded run time.
//!
//! # Layout
//!
//! | module | idea |
//! |---|---|
//! | `binaries` | where the binaries are (the target directory of the running test), and building them once per test executable |
//! | `broker` | [`Broker`]: one broker process, killed on drop; [`BrokerOptions`] for a Kafka listener and more flags |
//! | `cli` | [`Sluice`]: one `sluice` invocation with stdin, a timeout and captured output |
//!
//! The tests themselves are in `tests/`, one file per area.
//!
//! ```no_run
//! use sluice_e2e::Broker;
//!
//! let broker = Broker::start();
//! broker.sluice(["topic", "create", "t", "--partitions", "2"]).ok();
//! let out = broker.sluice(["topic", "list"]).ok();
//! assert_eq!(out.stdout, "t\n");
//! ```

// A test harness: a failed expectation is a failed test, with its message.
#![allow(clippy::expect_used)]

mod binaries;
mod broker;
mod cli;

pub use binaries::binary;
pub use broker::{Broker, BrokerOptions};
pub use cli::{Output, Sluice};

/// Every single command and wait in these tests is bounded by this.
pub const STEP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
