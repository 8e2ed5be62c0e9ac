//! Fetch records leave through the configured transfer mode: the per-mode
//! byte counters prove it, and every mode sends identical bytes.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sluice_network::TransferMode;
use sluice_protocol::pb;

/// Starts a broker with `mode`, stores the same records, fetches them.
/// Returns the fetched trailing bytes, the counters per mode, and the
/// stored size of the partition.
async fn fetch_with(mode: TransferMode) -> (Vec<u8>, Vec<(TransferMode, u64)>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.transfer_mode = mode;
    let broker = sluice_broker::Broker::start(config).await.unwrap();
    let mut client = Client::connect(broker.local_addr()).await;
    create_topic(&mut client, "t", 1).await;
    let big = vec![7u8; 100_000];
    for i in 0..20u8 {
        let small = [i; 10];
        produce_values(
            &mut client,
            "t",
            0,
            &[&small, &big[..usize::from(i) * 1000]],
        )
        .await;
    }
    let id = client.send(&fetch("t", 0, 0)).await;
    let (response, trailing) = client.read_as::<pb::FetchResponse>(id).await;
    assert_eq!(
        u64::from(response.partitions[0].records_len),
        trailing.len() as u64
    );
    assert_eq!(records(&trailing, 0).len(), 40);
    let metadata = client.call(&pb::MetadataRequest { topics: vec![] }).await;
    let size = metadata.topics[0].partitions[0].size_bytes;
    let counters = TransferMode::ALL
        .iter()
        .map(|m| (*m, broker.stats().transfer_bytes(*m)))
        .collect();
    broker.shutdown().await.unwrap();
    (trailing.to_vec(), counters, size)
}

#[tokio::test]
async fn fetches_leave_through_sendfile_by_default() {
    assert_eq!(
        sluice_broker::BrokerConfig::default().transfer_mode,
        TransferMode::Sendfile
    );
    let (bytes, counters, size) = fetch_with(TransferMode::Sendfile).await;
    assert_eq!(
        bytes.len() as u64,
        size,
        "the fetch covered the whole partition"
    );
    for (mode, sent) in counters {
        if mode == TransferMode::Sendfile {
            assert_eq!(
                sent,
                bytes.len() as u64,
                "sendfile carried every record byte"
            );
        } else {
            assert_eq!(sent, 0, "{mode} must not be used");
        }
    }
}

#[tokio::test]
async fn all_modes_send_identical_bytes() {
    let (reference, _, _) = fetch_with(TransferMode::Sendfile).await;
    for mode in [TransferMode::Splice, TransferMode::Mmap, TransferMode::Read] {
        let (bytes, counters, _) = fetch_with(mode).await;
        // Batches carry their append offsets but no broker clock, so the
        // stored bytes of two brokers fed the same batches are equal.
        assert_eq!(bytes, reference, "{mode} sent different bytes");
        for (m, sent) in counters {
            let expected = if m == mode { bytes.len() as u64 } else { 0 };
            assert_eq!(sent, expected, "counter of {m} with mode {mode}");
        }
    }
}
