//! The operator's full-disk sequence, with the real binaries on a 64 MiB tmpfs: a topic fills
//! the disk until produces fail, a small produce still succeeds, space is freed by deleting the
//! ballast topic, produces resume, and then every acknowledged line must be read back after a
//! clean restart (SIGTERM) and after a SIGKILL restart. Both write modes.
//!
//! This sequence once lost every line after the failed roll: the roll left an empty segment
//! behind, and recovery read it as a gap and deleted every later segment.
//!
//! Mounting needs root; CI runs as root (and `CI=true` makes a failed mount a test failure).

use std::collections::HashSet;

use sluice_e2e::{Broker, BrokerOptions};

const LINE: usize = 1000;
const CHUNK: usize = 500;

/// `count` lines of `LINE` bytes, `tag-NNNNNN-....`, numbered from `from`.
fn lines(tag: &str, from: usize, count: usize) -> String {
    (from..from + count)
        .map(|i| {
            let mut line = format!("{tag}-{i:06}-");
            line.extend(std::iter::repeat_n('.', LINE - line.len()));
            line.push('\n');
            line
        })
        .collect()
}

/// Every line of `topic` from the beginning, as a set of the lines' tags.
fn stored(broker: &Broker, topic: &str) -> HashSet<String> {
    let out = broker
        .sluice(["consume", topic, "--from-beginning", "--timeout-ms", "3000"])
        .ok();
    out.stdout
        .lines()
        .map(|l| l.split_once("-.").map_or(l, |(tag, _)| tag).to_owned())
        .collect()
}

#[test]
fn a_full_disk_loses_no_acknowledged_line_across_clean_and_kill_restarts() {
    for mode in ["mmap", "write"] {
        let Some(mut broker) = Broker::try_start_with(BrokerOptions {
            args: vec!["--write-mode".into(), mode.into()],
            tmpfs: Some("64m".into()),
            ..BrokerOptions::default()
        }) else {
            return;
        };
        for topic in ["ballast", "full"] {
            broker
                .sluice(["topic", "create", topic])
                .args(["--config", "segment.bytes=4194304"])
                .args(["--config", "max.message.bytes=1048576"])
                .ok();
        }
        // Half the disk, so deleting it frees room for what follows.
        for chunk in 0..60 {
            broker
                .sluice(["produce", "ballast"])
                .stdin(lines("ballast", chunk * CHUNK, CHUNK))
                .ok();
        }
        // Fill the disk. A failed run may have stored part of its chunk; only the lines of
        // runs that exited 0 were acknowledged.
        let mut acknowledged: Vec<String> = Vec::new();
        let mut next = 0;
        let mut failed = false;
        for _ in 0..200 {
            let input = lines("full", next, CHUNK);
            next += CHUNK;
            let run = broker
                .sluice(["produce", "full", "--retries", "0"])
                .stdin(input.clone())
                .run();
            if !run.status.success() {
                assert!(
                    run.stderr.to_lowercase().contains("disk full"),
                    "{mode}: the failure says why: {}",
                    run.stderr
                );
                failed = true;
                break;
            }
            acknowledged.extend(input.lines().map(str::to_owned));
        }
        assert!(failed, "{mode}: the disk never filled");
        let tiny = broker
            .sluice(["produce", "full", "--retries", "0"])
            .stdin("tiny\n")
            .run();
        if tiny.status.success() {
            acknowledged.push("tiny".into());
        }
        broker.sluice(["topic", "delete", "ballast"]).ok();
        for _ in 0..10 {
            let input = lines("full", next, CHUNK);
            next += CHUNK;
            broker.sluice(["produce", "full"]).stdin(input.clone()).ok();
            acknowledged.extend(input.lines().map(str::to_owned));
        }
        let expected: HashSet<String> = acknowledged
            .iter()
            .map(|l| {
                l.split_once("-.")
                    .map_or(l.as_str(), |(tag, _)| tag)
                    .to_owned()
            })
            .collect();
        let missing = |broker: &Broker, when: &str| {
            let got = stored(broker, "full");
            let lost: Vec<&String> = expected.iter().filter(|l| !got.contains(*l)).collect();
            assert!(
                lost.is_empty(),
                "{mode}: {} acknowledged lines lost {when}, e.g. {:?}; log:\n{}",
                lost.len(),
                lost.iter().take(3).collect::<Vec<_>>(),
                broker.log_tail()
            );
        };
        missing(&broker, "before any restart");
        broker.stop();
        broker.restart();
        missing(&broker, "after a clean restart");
        broker.kill();
        broker.restart();
        missing(&broker, "after a SIGKILL restart");
    }
}
