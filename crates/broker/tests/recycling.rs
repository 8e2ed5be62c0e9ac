//! Segment recycling follows the transfer mode: with a copying mode retention keeps removed
//! segment files as spares and later segments are written over them; with sendfile (whose sent
//! pages stay referenced by sockets) it never does.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use sluice_broker::Broker;
use sluice_network::TransferMode;
use sluice_protocol::{ErrorCode, pb};

fn spares(partition_dir: &Path) -> usize {
    std::fs::read_dir(partition_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".spare")
        })
        .count()
}

async fn log_start(client: &mut Client, topic: &str) -> i64 {
    let metadata = client
        .call(&pb::MetadataRequest {
            topics: vec![topic.into()],
        })
        .await;
    metadata.topics[0].partitions[0].log_start_offset
}

/// Every record from the log start to the end, with the start they were read from. Retention
/// keeps running while this reads: when it passes the read, reading starts over from the new
/// log start.
async fn read_back(client: &mut Client, topic: &str) -> (i64, Vec<(i64, Vec<u8>)>) {
    'again: for _ in 0..100 {
        let start = log_start(client, topic).await;
        let mut out = Vec::new();
        let mut offset = start;
        loop {
            let id = client.send(&fetch(topic, 0, offset)).await;
            let (response, trailing) = client.read_as::<pb::FetchResponse>(id).await;
            let p = &response.partitions[0];
            match code(p.error_code) {
                ErrorCode::None => {}
                ErrorCode::OffsetOutOfRange => continue 'again,
                other => panic!("fetch failed: {other:?}"),
            }
            let got = records(&trailing, offset);
            match got.last() {
                Some((last, _)) => offset = last + 1,
                None => return (start, out),
            }
            out.extend(got);
            if offset >= p.high_watermark {
                return (start, out);
            }
        }
    }
    panic!("retention passed every read");
}

#[tokio::test]
async fn only_a_copying_transfer_mode_recycles_segments() {
    for (mode, recycles) in [(TransferMode::Mmap, true), (TransferMode::Sendfile, false)] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(dir.path());
        config.transfer_mode = mode;
        config.retention_check_ms = 20;
        let broker = Broker::start(config).await.unwrap();
        let mut client = Client::connect(broker.local_addr()).await;
        let created = client
            .call(&pb::CreateTopicRequest {
                name: "kept".into(),
                partitions: 1,
                config: Some(pb::TopicConfig {
                    segment_bytes: Some(1 << 20),
                    retention_bytes: Some(2 << 20),
                    retention_ms: Some(-1),
                    ..Default::default()
                }),
            })
            .await;
        assert_eq!(
            code(created.error_code),
            ErrorCode::None,
            "{}",
            created.error_message
        );
        let value = vec![b'v'; 200 << 10];
        let mut produced = 0;
        let deadline = Instant::now() + STEP;
        // Until retention has removed at least three segments (so at least one was kept).
        while log_start(&mut client, "kept").await < 3 * 5 {
            assert!(Instant::now() < deadline, "{mode}: retention never ran");
            produce_values(&mut client, "kept", 0, &[&value]).await;
            produced += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // A spare lives from the retention pass that keeps it to the next roll, which takes it:
        // look between produces until one is seen (or, when files are never recycled, over a
        // few more retention passes).
        let partition_dir = dir.path().join("topics").join("kept").join("0");
        let before = log_start(&mut client, "kept").await;
        let mut seen = 0;
        loop {
            let done = if recycles {
                seen > 0
            } else {
                log_start(&mut client, "kept").await >= before + 3 * 5
            };
            if done {
                break;
            }
            assert!(Instant::now() < deadline, "{mode}: retention never ran");
            seen = seen.max(spares(&partition_dir));
            produce_values(&mut client, "kept", 0, &[&value]).await;
            produced += 1;
            seen = seen.max(spares(&partition_dir));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if recycles {
            assert!(seen > 0, "{mode}: no spare kept");
        } else {
            assert_eq!(seen, 0, "{mode}: a spare kept");
        }
        // Whatever the files, the log reads back exactly what is left of it.
        for _ in 0..10 {
            produce_values(&mut client, "kept", 0, &[&value]).await;
            produced += 1;
        }
        let (start, records) = read_back(&mut client, "kept").await;
        let offsets: Vec<i64> = records.iter().map(|(o, _)| *o).collect();
        assert_eq!(offsets, (start..produced).collect::<Vec<_>>(), "{mode}");
        assert!(records.iter().all(|(_, v)| *v == value), "{mode}");
        broker.shutdown().await.unwrap();
    }
}
