//! The native produce goes through the same idempotence check as the Kafka
//! one (the broker core's): a retried batch of a producer is answered with
//! its first offsets and written once; a gap in its sequence is refused.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bytes::Bytes;
use common::*;
use sluice_protocol::ErrorCode;
use sluice_protocol::consts::{ACKS_ALL, ACKS_LEADER};
use sluice_record::BatchBuilder;

fn idempotent_batch(sequence: i32, values: &[&[u8]]) -> Bytes {
    let mut builder = BatchBuilder::new().producer(7, 0, sequence);
    for value in values {
        builder.append(1_700_000_000_000, None, Some(value), &[]);
    }
    builder.build()
}

#[tokio::test]
async fn a_retried_native_batch_is_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut client = Client::connect(broker.local_addr()).await;
    create_topic(&mut client, "t", 1).await;

    let first = idempotent_batch(0, &[b"a", b"b"]);
    let sent = client
        .call(&produce("t", 0, ACKS_ALL, vec![first.clone()]))
        .await;
    assert_eq!(
        code(sent.error_code),
        ErrorCode::None,
        "{}",
        sent.error_message
    );
    let retried = client.call(&produce("t", 0, ACKS_ALL, vec![first])).await;
    assert_eq!(code(retried.error_code), ErrorCode::None);
    assert_eq!(
        (retried.base_offset, retried.last_offset),
        (sent.base_offset, sent.last_offset)
    );

    let gap = client
        .call(&produce(
            "t",
            0,
            ACKS_LEADER,
            vec![idempotent_batch(5, &[b"c"])],
        ))
        .await;
    assert_eq!(code(gap.error_code), ErrorCode::OutOfOrderSequence);
    let two = client
        .call(&produce(
            "t",
            0,
            ACKS_LEADER,
            vec![idempotent_batch(2, &[b"c"]), idempotent_batch(3, &[b"d"])],
        ))
        .await;
    assert_eq!(code(two.error_code), ErrorCode::InvalidRecord);
    let next = client
        .call(&produce(
            "t",
            0,
            ACKS_LEADER,
            vec![idempotent_batch(2, &[b"c"])],
        ))
        .await;
    assert_eq!(code(next.error_code), ErrorCode::None);

    let values: Vec<Vec<u8>> = fetch_all(&mut client, "t", 0, 0)
        .await
        .into_iter()
        .map(|(_, value)| value)
        .collect();
    assert_eq!(values, [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    broker.shutdown().await.unwrap();
}
