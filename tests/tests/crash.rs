//! The broker is killed with SIGKILL while `sluice produce --acks all`
//! runs, and restarted on the same data directory and port: every chunk of
//! lines that was acknowledged must be read back, in order.
//!
//! "Acknowledged" is per chunk: each chunk is one `sluice produce` run fed
//! through stdin, and it is acknowledged iff that run exited 0 (which it
//! does only when every line was). A producer thread runs chunk after chunk
//! while the main thread kills and restarts the broker at random moments.
//!
//! What may legitimately differ from the input: a chunk whose run failed
//! may be partly stored, and a request retried after its connection broke
//! may be stored twice (the producer is at-least-once). So the check is:
//! keeping the first copy of each line, lines appear in the order they
//! were produced, and every line of every acknowledged chunk is there.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rand::Rng;
use sluice_e2e::{Broker, Sluice};

const LINES_PER_CHUNK: u32 = 200;
/// Chunks produced after the last restart, so the broker is seen to work.
const CHUNKS_AFTER: u32 = 5;
/// Hard bound on the producer thread.
const MAX_CHUNKS: u32 = 300;
const KILLS: u32 = 3;

fn chunk_input(chunk: u32) -> String {
    (0..LINES_PER_CHUNK)
        .map(|i| format!("c{chunk:04}-{i:04}\n"))
        .collect()
}

/// `(chunk, line)` from `cCCCC-LLLL`.
fn parse(line: &str) -> (u32, u32) {
    let (c, l) = line
        .strip_prefix('c')
        .and_then(|rest| rest.split_once('-'))
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    let number = |s: &str| s.parse().unwrap_or_else(|e| panic!("{line:?}: {e}"));
    (number(c), number(l))
}

#[test]
fn acknowledged_chunks_survive_sigkill() {
    let mut broker = Broker::start();
    broker
        .sluice(["topic", "create", "crash", "--partitions", "1"])
        .ok();
    let addr = broker.addr();

    let kills_done = Arc::new(AtomicBool::new(false));
    let producer = {
        let kills_done = Arc::clone(&kills_done);
        thread::spawn(move || {
            let mut results = Vec::new();
            let mut after = 0;
            for chunk in 0..MAX_CHUNKS {
                if kills_done.load(Ordering::SeqCst) {
                    after += 1;
                    if after > CHUNKS_AFTER {
                        break;
                    }
                }
                let out = Sluice::new(&addr)
                    .args(["produce", "crash", "--acks", "all", "--retries", "40"])
                    .stdin(chunk_input(chunk))
                    .timeout(Duration::from_secs(90))
                    .run();
                if !out.status.success() {
                    eprintln!("chunk {chunk} not acknowledged: {}", out.stderr.trim());
                }
                results.push((chunk, out.status.success()));
            }
            results
        })
    };

    let mut rng = rand::rng();
    let started = Instant::now();
    for kill in 0..KILLS {
        let wait = Duration::from_millis(rng.random_range(100..1200));
        thread::sleep(wait);
        assert!(
            !producer.is_finished(),
            "the producer must still be running"
        );
        broker.kill();
        let down = Duration::from_millis(rng.random_range(100..1500));
        eprintln!(
            "kill {kill} at {:?} (after {wait:?}), down for {down:?}",
            started.elapsed()
        );
        thread::sleep(down);
        broker.restart();
    }
    kills_done.store(true, Ordering::SeqCst);
    let results = producer.join().unwrap();

    let acked: Vec<u32> = results.iter().filter(|r| r.1).map(|r| r.0).collect();
    let failed = results.len() - acked.len();
    eprintln!(
        "{} chunks, {} acknowledged, {failed} not",
        results.len(),
        acked.len()
    );
    assert!(
        results
            .iter()
            .rev()
            .take(CHUNKS_AFTER as usize)
            .all(|r| r.1),
        "the chunks after the last restart are acknowledged: {results:?}\n{}",
        broker.log_tail()
    );

    // Read everything back: the log end says how much there is.
    let describe = broker.sluice(["topic", "describe", "crash"]).ok().stdout;
    let end: u64 = describe
        .lines()
        .nth(3)
        .and_then(|row| row.split_whitespace().nth(2))
        .and_then(|end| end.parse().ok())
        .unwrap_or_else(|| panic!("no log end in:\n{describe}"));
    let out = broker
        .sluice([
            "consume",
            "crash",
            "--from-beginning",
            "--count",
            &end.to_string(),
            "--timeout-ms",
            "5000",
        ])
        .ok();
    let stored: Vec<(u32, u32)> = out.stdout.lines().map(parse).collect();
    assert_eq!(stored.len() as u64, end, "consume reads the whole log");

    let mut seen = HashSet::new();
    let mut last = None;
    for &line in &stored {
        if !seen.insert(line) {
            continue; // a duplicate from a retried request
        }
        assert!(
            last < Some(line),
            "{line:?} stored after {last:?}: out of order"
        );
        last = Some(line);
    }
    for &chunk in &acked {
        for i in 0..LINES_PER_CHUNK {
            assert!(
                seen.contains(&(chunk, i)),
                "acknowledged line c{chunk:04}-{i:04} is missing\n{}",
                broker.log_tail()
            );
        }
    }
    eprintln!(
        "{} lines stored, {} distinct, {} acknowledged",
        stored.len(),
        seen.len(),
        acked.len() as u32 * LINES_PER_CHUNK
    );
}
