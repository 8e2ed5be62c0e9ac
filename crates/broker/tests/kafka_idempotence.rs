//! Idempotent produce over the Kafka listener: InitProducerId, a retried
//! batch answered with its original offsets and not written twice, sequence
//! and epoch errors, and the state surviving a restart.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::kafka::*;
use common::*;
use sluice_kafka::ErrorCode;
use sluice_kafka::api::init_producer_id::InitProducerIdRequest;

async fn init_producer_id(client: &mut KafkaClient) -> i64 {
    let response = client
        .call(
            1,
            InitProducerIdRequest {
                transactional_id: None,
                transaction_timeout_ms: 60_000,
            },
        )
        .await;
    let response = expect_response!(response, InitProducerId);
    assert_eq!((response.error_code, response.producer_epoch), (0, 0));
    response.producer_id
}

async fn high_watermark(client: &mut KafkaClient) -> i64 {
    let fetch = expect_response!(client.call(11, fetch_request("t", 0, 0)).await, Fetch);
    fetch.responses[0].partitions[0].high_watermark
}

#[tokio::test]
async fn duplicates_are_answered_not_written_and_sequences_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, addr) = start_kafka(dir.path()).await;
    let mut client = KafkaClient::connect(addr).await;
    create_kafka_topic(&mut client, "t", 1).await;
    let pid = init_producer_id(&mut client).await;
    assert_ne!(pid, init_producer_id(&mut client).await, "ids are unique");

    let first = idempotent_batch(pid, 0, 0, &[b"a", b"b", b"c"]);
    assert_eq!(
        kafka_produce(&mut client, "t", 0, first.clone()).await,
        (0, 0)
    );
    // The retry: same producer, epoch and sequence.
    assert_eq!(
        kafka_produce(&mut client, "t", 0, first.clone()).await,
        (0, 0)
    );
    assert_eq!(
        high_watermark(&mut client).await,
        3,
        "the retry was not written"
    );

    let second = idempotent_batch(pid, 0, 3, &[b"d"]);
    assert_eq!(
        kafka_produce(&mut client, "t", 0, second.clone()).await,
        (0, 3)
    );
    // A duplicate of an older (but recent) batch still gets its offsets.
    assert_eq!(kafka_produce(&mut client, "t", 0, first).await, (0, 0));
    // A gap in the sequence.
    let gap = idempotent_batch(pid, 0, 10, &[b"x"]);
    assert_eq!(
        kafka_produce(&mut client, "t", 0, gap).await.0,
        ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER
    );
    // A new epoch starts at 0; after it the old epoch is fenced.
    let bumped = idempotent_batch(pid, 1, 0, &[b"e"]);
    assert_eq!(kafka_produce(&mut client, "t", 0, bumped).await, (0, 4));
    let stale = idempotent_batch(pid, 0, 4, &[b"y"]);
    assert_eq!(
        kafka_produce(&mut client, "t", 0, stale).await.0,
        ErrorCode::INVALID_PRODUCER_EPOCH
    );
    let bad_start = idempotent_batch(pid, 2, 5, &[b"z"]);
    assert_eq!(
        kafka_produce(&mut client, "t", 0, bad_start).await.0,
        ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER
    );
    assert_eq!(high_watermark(&mut client).await, 5);

    let fetch = expect_response!(client.call(11, fetch_request("t", 0, 0)).await, Fetch);
    let got: Vec<Vec<u8>> = records(
        &fetch.responses[0].partitions[0].records.clone().unwrap(),
        0,
    )
    .into_iter()
    .map(|(_, v)| v)
    .collect();
    assert_eq!(got, [b"a", b"b", b"c", b"d", b"e"].map(|v| v.to_vec()));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn producer_state_and_ids_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (pid, batch) = {
        let (broker, addr) = start_kafka(dir.path()).await;
        let mut client = KafkaClient::connect(addr).await;
        create_kafka_topic(&mut client, "t", 1).await;
        let pid = init_producer_id(&mut client).await;
        kafka_produce(&mut client, "t", 0, idempotent_batch(pid, 0, 0, &[b"a"])).await;
        let batch = idempotent_batch(pid, 0, 1, &[b"b", b"c"]);
        assert_eq!(
            kafka_produce(&mut client, "t", 0, batch.clone()).await,
            (0, 1)
        );
        broker.shutdown().await.unwrap();
        (pid, batch)
    };
    let (broker, addr) = start_kafka(dir.path()).await;
    let mut client = KafkaClient::connect(addr).await;
    // The retry after the restart is still recognised (state rebuilt from
    // the batch headers in the log).
    assert_eq!(kafka_produce(&mut client, "t", 0, batch).await, (0, 1));
    assert_eq!(high_watermark(&mut client).await, 3);
    let next = idempotent_batch(pid, 0, 5, &[b"gap"]);
    assert_eq!(
        kafka_produce(&mut client, "t", 0, next).await.0,
        ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER
    );
    // Producer ids are never handed out twice.
    assert!(init_producer_id(&mut client).await > pid);
    broker.shutdown().await.unwrap();
}
