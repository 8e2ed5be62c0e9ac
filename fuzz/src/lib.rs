//! The bodies of Sluice's fuzz targets, and the seed inputs each one starts from.
//!
//! Each `fuzz_targets/<name>.rs` is one line that calls `<name>::run` here, so the same code is
//! fuzzed by `cargo fuzz run <name>` and replayed on a stable toolchain by `cargo test` in this
//! crate (`tests/seeds.rs`). A target fails by panicking: every `assert!` below is a property the
//! decoders promise, not a debugging aid.
//!
//! # Layout
//! - [`protocol_frame`]: the native protocol's request and response frame decoders, whole and
//!   byte by byte, and the protobuf bodies behind them.
//! - [`kafka_request`]: one Kafka request frame (header and body) for any api key and version
//!   the codec decodes, and the re-encoding of what decoded.
//! - [`record_batch`]: RecordBatch v2 parse, validate, record and header iteration, and
//!   decompression (with the CRC optionally repaired so the fuzzer gets past it).
//! - [`storage_open`]: a partition directory made of fuzz bytes (`.log`, optionally `.index`,
//!   `.timeindex`, a clean-shutdown marker and a recovery point) opened with
//!   `PartitionLog::open` and read back in full.
//! - [`seed`]: builders for the valid inputs the committed seed corpora hold.
//!
//! ```
//! // Every target accepts any input; the empty one included.
//! sluice_fuzz::protocol_frame::run(&[]);
//! sluice_fuzz::kafka_request::run(&[]);
//! sluice_fuzz::record_batch::run(&[]);
//! ```

pub mod kafka_request;
pub mod protocol_frame;
pub mod record_batch;
pub mod seed;
pub mod storage_open;

/// Named seed inputs of one target.
pub type Seeds = Vec<(String, Vec<u8>)>;

/// One fuzz target: what `tests/seeds.rs` needs to replay it.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The name of its `fuzz_targets/` file and of its `seeds/` directory.
    pub name: &'static str,
    /// Its body: panics on a finding.
    pub run: fn(&[u8]),
    /// Builds its seed inputs.
    pub seeds: fn() -> Seeds,
}

/// Every target.
pub const TARGETS: [Target; 4] = [
    Target {
        name: "protocol_frame",
        run: protocol_frame::run,
        seeds: protocol_frame::seeds,
    },
    Target {
        name: "kafka_request",
        run: kafka_request::run,
        seeds: kafka_request::seeds,
    },
    Target {
        name: "record_batch",
        run: record_batch::run,
        seeds: record_batch::seeds,
    },
    Target {
        name: "storage_open",
        run: storage_open::run,
        seeds: storage_open::seeds,
    },
];
