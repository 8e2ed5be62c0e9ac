//! Produce: throughput and latency for acks 0, 1 and all, with 100-byte and
//! 1000-byte messages.
//!
//! Two producers:
//! - **pre-built batches** over a plain connection: one batch of 1000
//!   messages per request, the same bytes every time, at most
//!   [`IN_FLIGHT`] requests awaiting their answer (Kafka's default). This
//!   measures the broker: validation, append, flush, answer.
//! - the **sluice-client `Producer`**, one `send` per message, with its
//!   defaults but 1 MiB batches: what an application gets.
//!
//! The pre-built runs write into long-lived topics kept by retention (the
//! steady state) on a broker with `--transfer-mode mmap`, so that removed
//! segments are recycled (a broker recycles only with a copying transfer
//! mode). Beside them: the same steady state on a broker with the default
//! `sendfile` (no recycling), and a fresh topic per run. The client
//! `Producer` runs into fresh topics, deleted after each run.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use hdrhistogram::Histogram;
use prost::Message;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use sluice_benches::Samples;
use sluice_protocol::{ErrorCode, pb};
use sluice_record::BatchBuilder;

use crate::Plan;
use crate::memory;
use crate::wire::{self, CORRELATION_ID_AT, Wire};
use sluice_benches::broker::BrokerProcess;

pub const MESSAGE_SIZES: [usize; 2] = [100, 1000];
/// `(wire value, label)` of each acks level.
pub const ACKS: [(i32, &str); 3] = [(0, "0"), (1, "1"), (-1, "all")];
pub const BATCH_MESSAGES: usize = 1000;
/// Requests awaiting an answer at once (Kafka's
/// `max.in.flight.requests.per.connection`).
pub const IN_FLIGHT: usize = 5;
/// Percentiles reported, and their labels.
pub const PERCENTILES: [(f64, &str); 5] = [
    (50.0, "p50"),
    (95.0, "p95"),
    (99.0, "p99"),
    (99.9, "p99.9"),
    (100.0, "max"),
];

/// One uncompressed batch of `messages` values of `value_len` bytes,
/// timestamped now. Values are pseudo-random so nothing along the way can
/// take a shortcut on zeros.
pub fn build_batch(messages: usize, value_len: usize) -> Bytes {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
    let mut value = vec![0u8; value_len];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut builder = BatchBuilder::with_capacity(messages * (value_len + 16));
    for _ in 0..messages {
        for byte in value.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *byte = x as u8;
        }
        builder.append(now, None, Some(&value), &[]);
    }
    builder.build()
}

/// Appends `total` bytes of copies of `batch` to partition 0 of `topic`,
/// about 1 MiB per request, acks=1, one request at a time.
pub fn fill(wire: &mut Wire, topic: &str, batch: &Bytes, total: u64) -> Result<()> {
    let per_request = ((1 << 20) / batch.len()).max(1);
    let mut written = 0u64;
    while written < total {
        let request = pb::ProduceRequest {
            topic: topic.into(),
            partition: 0,
            acks: 1,
            timeout_ms: 30_000,
            batches: vec![batch.clone(); per_request],
        };
        wire.request(&request)?;
        written += (per_request * batch.len()) as u64;
    }
    Ok(())
}

impl ProduceCell {
    /// Adds one run's throughput and latency.
    fn record(&mut self, out: &RunOut) {
        self.mb_per_s.push(out.bytes as f64 / out.secs / 1e6);
        self.msgs_per_s.push(out.messages as f64 / out.secs);
        if let Some(h) = &out.latency_us {
            for (i, (p, _)) in PERCENTILES.iter().enumerate() {
                self.latency_ms[i].push(h.value_at_quantile(p / 100.0) as f64 / 1e3);
            }
        }
    }
}

/// Per-run samples of one produce configuration.
#[derive(Debug, Clone, Default)]
pub struct ProduceCell {
    /// Stored record batch bytes per second, in MB (1e6).
    pub mb_per_s: Samples,
    pub msgs_per_s: Samples,
    /// Request latency in ms for each of [`PERCENTILES`]; empty for acks=0.
    pub latency_ms: [Samples; 5],
}

#[derive(Debug, Clone)]
pub struct ProduceResults {
    /// `[message size index][acks index]`.
    pub raw: Vec<Vec<ProduceCell>>,
    pub batch_bytes: [usize; 2],
    /// The client `Producer`: `(label, value bytes, acks label, cell)`;
    /// its MB/s counts value bytes.
    pub client: Vec<(usize, &'static str, ProduceCell)>,
    /// Length of one client `Producer` run.
    pub client_secs: f64,
    /// The disk's rate for the same volume written with `write()` in 1 MiB
    /// blocks and one `fdatasync`, in MB/s: what acks=all and sustained
    /// acks=1 cannot beat.
    pub disk_mb_per_s: Samples,
    /// How fast the memory warmed before each raw produce run took its first touch, GB/s.
    pub first_touch_gb_per_s: Samples,
    /// Bytes warmed before each run.
    pub warm_bytes: u64,
    /// Segment size and retention size of the long-lived topics the runs produce into.
    pub steady_segment_bytes: u64,
    pub steady_retention_bytes: u64,
    /// 1000-byte messages, acks=1, into a fresh topic per run instead (new segment files).
    pub fresh: ProduceCell,
    /// 1000-byte messages, acks=1, steady state on a broker with the default transfer mode
    /// (sendfile), which does not recycle segment files.
    pub steady_sendfile: ProduceCell,
    pub capped: Vec<String>,
}

pub fn run(plan: &Plan, bin: &Path, work: &Path) -> Result<ProduceResults> {
    let data_dir = work.join("produce-data");
    let retention_check = RETENTION_CHECK_MS.to_string();
    let broker = BrokerProcess::start_with(
        bin,
        &data_dir,
        "mmap",
        &["--retention-check-ms", &retention_check],
    )?;
    let default_broker = BrokerProcess::start_with(
        bin,
        &work.join("produce-data-sendfile"),
        "sendfile",
        &["--retention-check-ms", &retention_check],
    )?;
    // Admin connections are opened where they are used: the broker closes a connection that
    // sends nothing for its handshake timeout, or stays idle past its idle timeout, and the
    // fills and runs between two admin requests take longer than either.
    let mut admin = Wire::connect(broker.addr())?;
    let batches = [
        build_batch(BATCH_MESSAGES, MESSAGE_SIZES[0]),
        build_batch(BATCH_MESSAGES, MESSAGE_SIZES[1]),
    ];
    let mut results = ProduceResults {
        raw: vec![vec![ProduceCell::default(); ACKS.len()]; MESSAGE_SIZES.len()],
        batch_bytes: [batches[0].len(), batches[1].len()],
        client: vec![
            (1000, "1", ProduceCell::default()),
            (1000, "all", ProduceCell::default()),
            (100, "1", ProduceCell::default()),
        ],
        client_secs: plan.client_produce_time.as_secs_f64(),
        disk_mb_per_s: Samples::default(),
        first_touch_gb_per_s: Samples::default(),
        warm_bytes: warm_bytes(plan),
        steady_segment_bytes: plan.produce_bytes_large / 4,
        steady_retention_bytes: plan.produce_bytes_large / 2,
        fresh: ProduceCell::default(),
        steady_sendfile: ProduceCell::default(),
        capped: Vec::new(),
    };
    let configs: Vec<(usize, usize)> = (0..MESSAGE_SIZES.len())
        .flat_map(|s| (0..ACKS.len()).map(move |a| (s, a)))
        .collect();

    // One long-lived topic per configuration, filled untimed past its retention size, so the
    // runs find the steady state of a broker whose retention removes what producers add: old
    // segments deleted and their files recycled for new ones.
    let steady = |s: usize, a: usize| format!("produce-{}-{}", MESSAGE_SIZES[s], ACKS[a].1);
    for &(s, a) in &configs {
        let topic = steady(s, a);
        eprintln!("produce: filling {topic}");
        fill_steady(
            &mut admin,
            broker.addr(),
            &topic,
            &batches[s],
            &results,
            plan,
        )?;
    }
    fill_steady(
        &mut Wire::connect(default_broker.addr())?,
        default_broker.addr(),
        &steady(1, 1),
        &batches[1],
        &results,
        plan,
    )?;
    let_retention_run();
    settle();

    for run in 0..plan.runs {
        // A new order each run: a run leaves dirty pages, freed pages and
        // writeback behind, so a fixed order would always hand a
        // configuration the same predecessor.
        let mut order = configs.clone();
        order.shuffle(&mut StdRng::seed_from_u64(run as u64));
        results
            .disk_mb_per_s
            .push(disk_write_mb_per_s(work, plan.produce_bytes_large)?);
        settle();
        for (s, a) in order {
            let (acks, acks_label) = ACKS[a];
            let size = MESSAGE_SIZES[s];
            eprintln!(
                "produce: run {}/{} {size}-byte acks={acks_label}",
                run + 1,
                plan.runs
            );
            let topic = steady(s, a);
            let budget = if size >= 1000 {
                plan.produce_bytes_large
            } else {
                plan.produce_bytes_small
            };
            let (out, first_touch) = warm_run(
                broker.addr(),
                &topic,
                &batches[s],
                acks,
                budget,
                plan,
                results.warm_bytes,
            )?;
            results.first_touch_gb_per_s.push(first_touch);
            let_retention_run();
            settle();
            if out.capped {
                results.capped.push(topic.clone());
            }
            results.raw[s][a].record(&out);
        }
        {
            eprintln!(
                "produce: run {}/{} 1000-byte acks=1 into a fresh topic",
                run + 1,
                plan.runs
            );
            let topic = format!("produce-fresh-{run}");
            admin.create_topic(&topic, None)?;
            let (out, _) = warm_run(
                broker.addr(),
                &topic,
                &batches[1],
                1,
                plan.produce_bytes_large,
                plan,
                results.warm_bytes,
            )?;
            admin.delete_topic(&topic)?;
            settle();
            if out.capped {
                results.capped.push(topic.clone());
            }
            results.fresh.record(&out);
        }
        {
            eprintln!(
                "produce: run {}/{} 1000-byte acks=1, steady state with sendfile (no recycling)",
                run + 1,
                plan.runs
            );
            let topic = steady(1, 1);
            let (out, _) = warm_run(
                default_broker.addr(),
                &topic,
                &batches[1],
                1,
                plan.produce_bytes_large,
                plan,
                results.warm_bytes,
            )?;
            let_retention_run();
            settle();
            if out.capped {
                results.capped.push(format!("{topic} (sendfile broker)"));
            }
            results.steady_sendfile.record(&out);
        }
        for (size, acks_label, cell) in &mut results.client {
            eprintln!(
                "produce: run {}/{} client Producer {size}-byte acks={acks_label}",
                run + 1,
                plan.runs
            );
            let topic = format!("client-{size}-{acks_label}-{run}");
            admin.create_topic(&topic, None)?;
            memory::warm(results.warm_bytes);
            let out = client_run(
                broker.addr(),
                &topic,
                *size,
                acks_label,
                plan.client_produce_time,
            )?;
            admin.delete_topic(&topic)?;
            settle();
            cell.record(&out);
        }
    }
    let mut admin = Wire::connect(broker.addr())?;
    for &(s, a) in &configs {
        admin.delete_topic(&steady(s, a))?;
    }
    Wire::connect(default_broker.addr())?.delete_topic(&steady(1, 1))?;
    default_broker.stop()?;
    drop(admin);
    broker.stop()?;
    Ok(results)
}

/// The broker's retention check interval in the produce runs: a run of 1000-byte messages rolls
/// a segment every few hundred milliseconds, and retention (which recycles the removed segments'
/// files) has to keep up for the next roll to find a spare.
pub const RETENTION_CHECK_MS: u64 = 100;

/// Gives the broker's retention a few passes, so the spare segment files a run used up are
/// replaced before the next run.
fn let_retention_run() {
    std::thread::sleep(std::time::Duration::from_millis(4 * RETENTION_CHECK_MS));
}

/// Creates `topic` as a long-lived topic kept by retention and fills it past its retention size,
/// untimed, so that runs find the steady state (old segments removed, spares ready).
fn fill_steady(
    admin: &mut Wire,
    addr: &str,
    topic: &str,
    batch: &Bytes,
    results: &ProduceResults,
    plan: &Plan,
) -> Result<()> {
    admin.create_topic_with(
        topic,
        Some(results.steady_segment_bytes),
        i64::try_from(results.steady_retention_bytes)?,
    )?;
    produce_run(
        addr,
        topic,
        batch,
        1,
        results.steady_retention_bytes + 2 * results.steady_segment_bytes,
        plan.run_time_cap,
    )?;
    Ok(())
}

/// Warms `warm_bytes` of memory (see `memory`), then one timed [`produce_run`]; returns the run
/// and how fast the warming's first touch went, in GB/s.
fn warm_run(
    addr: &str,
    topic: &str,
    batch: &Bytes,
    acks: i32,
    budget: u64,
    plan: &Plan,
    warm_bytes: u64,
) -> Result<(RunOut, f64)> {
    let first_touch = memory::warm(warm_bytes);
    let out = produce_run(addr, topic, batch, acks, budget, plan.run_time_cap)?;
    Ok((out, first_touch))
}

/// Memory warmed before each run (see `memory`): a little more than the largest run writes.
fn warm_bytes(plan: &Plan) -> u64 {
    plan.produce_bytes_large + plan.produce_bytes_large / 4
}

/// Writes `bytes` into a new file next to the broker's data in 1 MiB
/// `write()` calls, then `fdatasync`; returns MB/s.
fn disk_write_mb_per_s(dir: &Path, bytes: u64) -> Result<f64> {
    let path = dir.join("disk-probe");
    let block = vec![0xa5u8; 1 << 20];
    let start = Instant::now();
    {
        let mut file = std::fs::File::create(&path)?;
        let mut written = 0;
        while written < bytes {
            file.write_all(&block)?;
            written += block.len() as u64;
        }
        file.sync_data()?;
    }
    let secs = start.elapsed().as_secs_f64();
    std::fs::remove_file(&path)?;
    Ok(bytes as f64 / secs / 1e6)
}

/// Writes back whatever dirty data earlier runs left (the deleted topics'
/// pages are dropped, so this is mostly quick), so that writeback does not
/// run during the next timed run.
fn settle() {
    nix::unistd::sync();
}

struct RunOut {
    bytes: u64,
    messages: u64,
    secs: f64,
    latency_us: Option<Histogram<u64>>,
    capped: bool,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 10 min, 3 significant digits.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

fn check_produce_answer(body: Bytes) -> Result<()> {
    let response = pb::ProduceResponse::decode(body)?;
    let code = ErrorCode::from_wire(response.error_code);
    ensure!(
        code.is_ok(),
        "produce failed: {code:?} {}",
        response.error_message
    );
    Ok(())
}

/// Sends copies of `batch` until `budget` bytes or `cap` time, at most
/// [`IN_FLIGHT`] unanswered. With acks=0 there are no answers: a last
/// acks=1 request marks the end, since a connection's requests are
/// handled in order.
fn produce_run(
    addr: &str,
    topic: &str,
    batch: &Bytes,
    acks: i32,
    budget: u64,
    cap: Duration,
) -> Result<RunOut> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let request = |acks, batch: &Bytes| pb::ProduceRequest {
        topic: topic.into(),
        partition: 0,
        acks,
        timeout_ms: 30_000,
        batches: vec![batch.clone()],
    };
    let mut frame = wire::encode(0, &request(acks, batch))?.to_vec();
    let requests = budget.div_ceil(batch.len() as u64);
    let messages_per_request = BATCH_MESSAGES as u64;

    let start = Instant::now();
    let deadline = start + cap;
    if acks == 0 {
        let mut sent = 0u64;
        while sent < requests && Instant::now() < deadline {
            frame[CORRELATION_ID_AT..CORRELATION_ID_AT + 4]
                .copy_from_slice(&(sent as u32).to_be_bytes());
            stream.write_all(&frame)?;
            sent += 1;
        }
        let marker_id = u32::MAX;
        let marker = wire::encode(marker_id, &request(1, &build_batch(1, 10)))?;
        stream.write_all(&marker)?;
        let head = wire::read_head(&mut stream)?;
        ensure!(head.correlation_id == marker_id, "unexpected answer");
        check_produce_answer(head.body)?;
        return Ok(RunOut {
            bytes: sent * batch.len() as u64,
            messages: sent * messages_per_request,
            secs: start.elapsed().as_secs_f64(),
            latency_us: None,
            capped: sent < requests,
        });
    }

    // The channel carries each request's send time to the reader; its
    // bound keeps at most IN_FLIGHT requests unanswered (one held by the
    // reader while it waits, IN_FLIGHT - 1 queued). `None` ends the run.
    let (tx, rx) = mpsc::sync_channel::<Option<(u32, Instant)>>(IN_FLIGHT - 1);
    let mut reader_stream = stream.try_clone()?;
    let reader = std::thread::spawn(move || -> Result<(u64, Histogram<u64>, Instant)> {
        let mut hist = histogram();
        let mut answered = 0u64;
        let mut last = Instant::now();
        while let Ok(Some((id, sent_at))) = rx.recv() {
            let head = wire::read_head(&mut reader_stream)?;
            last = Instant::now();
            ensure!(head.correlation_id == id, "answers out of order");
            check_produce_answer(head.body)?;
            let us = u64::try_from((last - sent_at).as_micros()).unwrap_or(u64::MAX);
            hist.saturating_record(us.max(1));
            answered += 1;
        }
        Ok((answered, hist, last))
    });
    let mut sent = 0u64;
    let mut write_error = None;
    while sent < requests && Instant::now() < deadline {
        let id = sent as u32;
        if tx.send(Some((id, Instant::now()))).is_err() {
            break; // the reader failed; its error is reported below
        }
        frame[CORRELATION_ID_AT..CORRELATION_ID_AT + 4].copy_from_slice(&id.to_be_bytes());
        if let Err(e) = stream.write_all(&frame) {
            write_error = Some(e);
            break;
        }
        sent += 1;
    }
    let _ = tx.send(None);
    let (answered, hist, last) = match reader.join() {
        Ok(result) => result.context("reading produce answers")?,
        Err(_) => bail!("produce reader panicked"),
    };
    if let Some(e) = write_error {
        return Err(e).context("writing produce requests");
    }
    ensure!(
        answered == sent,
        "{sent} requests sent, {answered} answered"
    );
    Ok(RunOut {
        bytes: sent * batch.len() as u64,
        messages: sent * messages_per_request,
        secs: (last - start).as_secs_f64(),
        latency_us: Some(hist),
        capped: sent < requests,
    })
}

/// The sluice-client `Producer`: one `send` per message for `duration`,
/// then a flush. Latency is per message, from `send` to its delivery.
fn client_run(
    addr: &str,
    topic: &str,
    value_len: usize,
    acks: &str,
    duration: Duration,
) -> Result<RunOut> {
    use sluice_client::{Acks, Client, DeliveryFuture, Producer, ProducerConfig, ProducerRecord};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let acks: Acks = acks.parse()?;
    let addr = addr.to_owned();
    let topic = topic.to_owned();
    runtime.block_on(async move {
        let client = Client::connect(addr).await?;
        let config = ProducerConfig {
            acks,
            batch_bytes: 1 << 20,
            ..ProducerConfig::default()
        };
        let producer = Producer::new(client, config)?;
        let value = Bytes::from(vec![0x5au8; value_len]);
        // Deliveries resolve in send order (one partition), so one task
        // awaiting them in order sees each as it resolves. The channel's
        // bound also bounds the deliveries kept open.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(Instant, DeliveryFuture)>(65_536);
        let collector = tokio::spawn(async move {
            let mut hist = histogram();
            while let Some((at, delivery)) = rx.recv().await {
                delivery.await?;
                hist.saturating_record(micros_since(at));
            }
            anyhow::Ok(hist)
        });
        let start = Instant::now();
        let mut sent = 0u64;
        while start.elapsed() < duration {
            for _ in 0..256 {
                let record = ProducerRecord::new(topic.clone(), value.clone()).partition(0);
                let at = Instant::now();
                let delivery = producer.send(record).await;
                tx.send((at, delivery))
                    .await
                    .map_err(|_| anyhow::anyhow!("delivery collector stopped"))?;
                sent += 1;
            }
        }
        drop(tx);
        producer.flush().await?;
        let hist = collector.await??;
        let secs = start.elapsed().as_secs_f64();
        producer.close().await;
        Ok(RunOut {
            bytes: sent * value_len as u64,
            messages: sent,
            secs,
            latency_us: Some(hist),
            capped: false,
        })
    })
}

fn micros_since(at: Instant) -> u64 {
    u64::try_from(at.elapsed().as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}
