//! `sluice produce --compression CODEC` stores compressed batches (checked
//! in the segment file) and `sluice consume` prints their records, for
//! every codec Kafka defines.

use std::fs;

use sluice_e2e::Broker;

/// The codec id in the attributes of the first batch of `topic`'s
/// partition 0, read from its first segment file.
fn first_batch_codec(broker: &Broker, topic: &str) -> u8 {
    let log = broker
        .data_dir()
        .join("topics")
        .join(topic)
        .join("0")
        .join(format!("{:020}.log", 0));
    let bytes = fs::read(&log).unwrap_or_else(|e| panic!("read {}: {e}", log.display()));
    // Attributes: int16 at byte 21 of the batch; the codec is bits 0-2.
    bytes[22] & 0x07
}

#[test]
fn every_codec_round_trips_through_the_cli() {
    let broker = Broker::start();
    let lines: Vec<String> = (0..2000)
        .map(|i| format!("compressed line {i:05} {}", "abc".repeat(i % 5)))
        .collect();
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    for (codec, id) in [
        ("none", 0),
        ("gzip", 1),
        ("snappy", 2),
        ("lz4", 3),
        ("zstd", 4),
    ] {
        let topic = format!("z-{codec}");
        broker.sluice(["topic", "create", &topic]).ok();
        broker
            .sluice([
                "produce",
                &topic,
                "--compression",
                codec,
                "--linger-ms",
                "20",
            ])
            .stdin(input.clone())
            .ok();
        assert_eq!(first_batch_codec(&broker, &topic), id, "{codec}");
        let out = broker
            .sluice([
                "consume",
                &topic,
                "--from-beginning",
                "--count",
                "2000",
                "--timeout-ms",
                "10000",
                "--format",
                "%o %s\\n",
            ])
            .ok();
        let got: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(got.len(), lines.len(), "{codec}: {}", out.stderr);
        for (i, (got, want)) in got.iter().zip(&lines).enumerate() {
            assert_eq!(*got, format!("{i} {want}"), "{codec}");
        }
    }
}

#[test]
fn an_unknown_codec_is_a_usage_error() {
    let broker = Broker::start();
    let out = broker
        .sluice(["produce", "t", "--compression", "brotli"])
        .stdin("x\n")
        .run();
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("brotli"), "{}", out.stderr);
}
