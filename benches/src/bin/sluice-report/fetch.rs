//! Fetch: consume throughput and broker CPU per GB for each transfer mode
//! and fetch size, from the page cache, with the raw program beside it.
//!
//! The data (1000-byte messages in 16-message batches, the size Kafka's
//! producer closes batches at) is produced once, then consumed from offset
//! 0 to the end in every run. Each run goes through the modes in a rotated
//! order: start the broker with `--transfer-mode M` on the same data
//! directory, consume at every fetch size, stop it (its shutdown log must
//! count the bytes under M), then push the sealed segments with the raw
//! program in mode M at the same chunk sizes.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use sluice_benches::Samples;

use crate::raw::{self, Mode, RECEIVE_BUFFER, Segments};
use crate::wire::Wire;
use crate::{Plan, cpu, produce};
use sluice_benches::broker::{BrokerProcess, transfer_bytes_logged};

pub const TOPIC: &str = "fetch-bench";
pub const MESSAGE_BYTES: usize = 1000;
pub const MESSAGES_PER_BATCH: usize = 16;
pub const FETCH_SIZES: [u64; 3] = [64 << 10, 1 << 20, 16 << 20];

/// Per-run samples of one (mode, fetch size) cell.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub gb_per_s: Samples,
    /// Broker process (or raw sender thread) CPU seconds per GB moved.
    pub cpu_s_per_gb: Samples,
    /// Consumer (or raw receiver) thread CPU seconds per GB.
    pub client_cpu_s_per_gb: Samples,
    /// Record bytes per fetch response (broker cells only).
    pub bytes_per_fetch: Samples,
}

#[derive(Debug, Clone)]
pub struct FetchResults {
    pub data_bytes: u64,
    pub raw_bytes: u64,
    pub messages: i64,
    pub batch_bytes: usize,
    pub segment_bytes: u64,
    /// `[mode index][fetch size index]`.
    pub broker: Vec<Vec<Cell>>,
    pub raw: Vec<Vec<Cell>>,
    /// The raw sendfile program paced by one small request per chunk ([`raw::push_paced`]),
    /// per fetch size.
    pub paced: Vec<Cell>,
    /// The sluice-client `Consumer` (parses every record), sendfile, its
    /// default 1 MiB partition fetch.
    pub client_consumer: Cell,
    /// Runs that hit the time cap before the end of the data.
    pub capped: Vec<String>,
}

impl FetchResults {
    pub fn broker_cell(&self, mode: Mode, size: usize) -> &Cell {
        &self.broker[mode.index()][size]
    }

    pub fn raw_cell(&self, mode: Mode, size: usize) -> &Cell {
        &self.raw[mode.index()][size]
    }
}

pub fn run(plan: &Plan, bin: &Path, work: &Path) -> Result<FetchResults> {
    let data_dir = work.join("fetch-data");
    let batch = produce::build_batch(MESSAGES_PER_BATCH, MESSAGE_BYTES);

    // Produce once; the data stays in the page cache (24 GiB of memory).
    let broker = BrokerProcess::start(bin, &data_dir, Mode::Sendfile.name())?;
    let mut wire = Wire::connect(broker.addr())?;
    wire.create_topic(TOPIC, Some(plan.fetch_segment_bytes))?;
    eprintln!(
        "fetch: producing {} MiB of {MESSAGE_BYTES}-byte messages",
        plan.fetch_data_bytes >> 20
    );
    produce::fill(&mut wire, TOPIC, &batch, plan.fetch_data_bytes)?;
    let end = wire.end_offset(TOPIC)?;
    // Warm-up: one untimed pass brings every page and buffer in.
    let mut buf = vec![1u8; RECEIVE_BUFFER];
    consume(&mut wire, &broker, 1 << 20, end, end, 1, plan, &mut buf)?;
    drop(wire);
    broker.stop()?;

    let segments = Segments::sealed(&data_dir.join("topics").join(TOPIC).join("0"))?;
    raw::push(&segments, Mode::Read, 1 << 20, 1, plan.run_time_cap)?;

    let empty = || vec![vec![Cell::default(); FETCH_SIZES.len()]; Mode::ALL.len()];
    let mut results = FetchResults {
        data_bytes: 0,
        raw_bytes: segments.total,
        messages: end,
        batch_bytes: batch.len(),
        segment_bytes: plan.fetch_segment_bytes,
        broker: empty(),
        raw: empty(),
        paced: vec![Cell::default(); FETCH_SIZES.len()],
        client_consumer: Cell::default(),
        capped: Vec::new(),
    };
    for run in 0..plan.runs {
        for k in 0..Mode::ALL.len() {
            let mode = Mode::ALL[(run + k) % Mode::ALL.len()];
            eprintln!("fetch: run {}/{} mode {}", run + 1, plan.runs, mode.name());
            let broker = BrokerProcess::start(bin, &data_dir, mode.name())?;
            let mut wire = Wire::connect(broker.addr())?;
            // Untimed: a quarter of the data, to grow the new connection's
            // TCP windows and wake the broker's threads.
            let w = consume(&mut wire, &broker, 1 << 20, end / 4, end, 1, plan, &mut buf)?;
            let mut fetched = w.bytes;
            for (i, &size) in FETCH_SIZES.iter().enumerate() {
                let c = consume(
                    &mut wire,
                    &broker,
                    size,
                    end,
                    end,
                    plan.fetch_passes,
                    plan,
                    &mut buf,
                )?;
                if c.capped {
                    results
                        .capped
                        .push(format!("broker {} {}", mode.name(), size_label(size)));
                }
                results.data_bytes = results.data_bytes.max(c.bytes / plan.fetch_passes as u64);
                fetched += c.bytes;
                let cell = &mut results.broker[mode.index()][i];
                cell.gb_per_s.push(c.bytes as f64 / c.secs / 1e9);
                cell.cpu_s_per_gb
                    .push(c.broker_cpu / (c.bytes as f64 / 1e9));
                cell.client_cpu_s_per_gb
                    .push(c.client_cpu / (c.bytes as f64 / 1e9));
                cell.bytes_per_fetch
                    .push(c.bytes as f64 / c.fetches.max(1) as f64);
            }
            if mode == Mode::Sendfile {
                // Its byte count is derived from the values it parsed, so
                // it stays out of the counter check below.
                let c = client_consume(&broker, end, plan)?;
                let cell = &mut results.client_consumer;
                cell.gb_per_s.push(c.bytes as f64 / c.secs / 1e9);
                cell.cpu_s_per_gb
                    .push(c.broker_cpu / (c.bytes as f64 / 1e9));
                cell.client_cpu_s_per_gb
                    .push(c.client_cpu / (c.bytes as f64 / 1e9));
            }
            drop(wire);
            let log = broker.stop()?;
            // The bytes must have gone the way being measured.
            let counted = transfer_bytes_logged(&log, mode.name())
                .context("broker log lacks its transfer counters")?;
            ensure!(
                counted >= fetched,
                "broker counted {counted} bytes as {}, the consumer got {fetched}",
                mode.name()
            );

            for (i, &size) in FETCH_SIZES.iter().enumerate() {
                let chunk = usize::try_from(size)?;
                let r = raw::push(&segments, mode, chunk, plan.fetch_passes, plan.run_time_cap)?;
                let gb = r.bytes as f64 / 1e9;
                let cell = &mut results.raw[mode.index()][i];
                cell.gb_per_s.push(gb / r.secs);
                cell.cpu_s_per_gb.push(r.sender_cpu / gb);
                cell.client_cpu_s_per_gb.push(r.receiver_cpu / gb);
                if mode == Mode::Sendfile {
                    let r =
                        raw::push_paced(&segments, chunk, plan.fetch_passes, plan.run_time_cap)?;
                    let gb = r.bytes as f64 / 1e9;
                    let cell = &mut results.paced[i];
                    cell.gb_per_s.push(gb / r.secs);
                    cell.cpu_s_per_gb.push(r.sender_cpu / gb);
                    cell.client_cpu_s_per_gb.push(r.receiver_cpu / gb);
                }
            }
        }
    }
    Ok(results)
}

pub fn size_label(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}

struct Consumed {
    bytes: u64,
    fetches: u64,
    secs: f64,
    broker_cpu: f64,
    client_cpu: f64,
    capped: bool,
}

/// Fetches `[0, end)` `passes` times, one fetch at a time as a consumer
/// does, `fetch_bytes` per fetch. `high_watermark` is the log's end, which
/// must not move.
#[allow(clippy::too_many_arguments)]
fn consume(
    wire: &mut Wire,
    broker: &BrokerProcess,
    fetch_bytes: u64,
    end: i64,
    high_watermark: i64,
    passes: usize,
    plan: &Plan,
    buf: &mut [u8],
) -> Result<Consumed> {
    let max_bytes = u32::try_from(fetch_bytes)?;
    let broker_before = broker.cpu_seconds()?;
    let start = Instant::now();
    let deadline = start + plan.run_time_cap;
    let mut fetches = 0u64;
    let (bytes, client_cpu) = cpu::measure(|| -> Result<(u64, i64)> {
        let mut bytes = 0;
        let mut offset = 0;
        for _ in 0..passes {
            offset = 0;
            while offset < end && Instant::now() < deadline {
                let f = wire.fetch(TOPIC, offset, max_bytes, buf)?;
                ensure!(f.bytes > 0, "empty fetch at {offset} of {end}");
                ensure!(
                    f.high_watermark == high_watermark,
                    "the log grew during the run"
                );
                bytes += f.bytes;
                fetches += 1;
                offset = f.next_offset;
            }
        }
        Ok((bytes, offset))
    });
    let (bytes, offset) = bytes?;
    let secs = start.elapsed().as_secs_f64();
    let broker_cpu = broker.cpu_seconds()? - broker_before;
    ensure!(bytes > 0, "nothing consumed");
    Ok(Consumed {
        bytes,
        fetches,
        secs,
        broker_cpu,
        client_cpu,
        capped: offset < end,
    })
}

/// The same pass through the real client: `Consumer::poll` with its
/// defaults (1 MiB per partition), which parses every record. In its own
/// single-threaded runtime so it competes for the cores as the blocking
/// consumer does.
fn client_consume(broker: &BrokerProcess, end: i64, plan: &Plan) -> Result<Consumed> {
    use sluice_client::{Client, Consumer, ConsumerConfig, SeekTo, TopicPartition};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let addr = broker.addr().to_owned();
    let broker_before = broker.cpu_seconds()?;
    let start = Instant::now();
    let deadline = start + plan.run_time_cap;
    let (result, client_cpu) = cpu::measure(|| {
        runtime.block_on(async move {
            let client = Client::connect(addr).await?;
            let mut consumer = Consumer::new(client, ConsumerConfig::default());
            let tp = TopicPartition::new(TOPIC, 0);
            consumer.assign([tp.clone()]);
            consumer.seek(&tp, SeekTo::Offset(0))?;
            let mut bytes = 0u64;
            let mut next = 0i64;
            while next < end && Instant::now() < deadline {
                let records = consumer.poll(std::time::Duration::from_secs(5)).await?;
                ensure!(!records.is_empty(), "client consumer got nothing at {next}");
                for r in &records {
                    ensure!(r.offset == next, "record {} where {next} was due", r.offset);
                    next += 1;
                    bytes += r.value.as_ref().map_or(0, |v| v.len() as u64);
                }
            }
            anyhow::Ok((bytes, next))
        })
    });
    let (values, next) = result?;
    let secs = start.elapsed().as_secs_f64();
    let broker_cpu = broker.cpu_seconds()? - broker_before;
    // Count stored bytes, as the raw consumer does: the values plus their
    // share of record and batch overhead.
    let bytes = (values as f64 * stored_per_value()) as u64;
    Ok(Consumed {
        bytes,
        fetches: 0,
        secs,
        broker_cpu,
        client_cpu,
        capped: next < end,
    })
}

/// Stored batch bytes per value byte in the fetch data set.
fn stored_per_value() -> f64 {
    let batch = produce::build_batch(MESSAGES_PER_BATCH, MESSAGE_BYTES);
    batch.len() as f64 / (MESSAGES_PER_BATCH * MESSAGE_BYTES) as f64
}
