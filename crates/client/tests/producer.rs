//! The producer against the in-test fake broker: keyed placement and order,
//! pipelining, retries, acks=0.

// Test helpers outside #[test] functions may panic on broken fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{FakeBroker, bounded};
use sluice_client::partitioner::partition_for_key;
use sluice_client::{
    Acks, Client, ClientError, ErrorCode, Producer, ProducerConfig, ProducerRecord,
};

fn config() -> ProducerConfig {
    ProducerConfig {
        linger: Duration::from_millis(2),
        batch_bytes: 512,
        retry_backoff: Duration::from_millis(10),
        ..ProducerConfig::default()
    }
}

/// Keyed records land on murmur2's partition, each partition keeps send
/// order, and deliveries report the offsets the broker stored them at.
#[tokio::test]
async fn keyed_records_keep_order_and_report_offsets() {
    bounded(async {
        // retries = 0 pipelines within a partition too; with retries a
        // partition has one request in flight, partitions still overlap.
        for retries in [0, 5] {
            keyed_round(ProducerConfig {
                retries,
                ..config()
            })
            .await;
        }
    })
    .await;
}

async fn keyed_round(producer_config: ProducerConfig) {
    {
        let broker = FakeBroker::start().await;
        broker.create_topic("t", 4);
        broker.state.lock().delay = Duration::from_millis(5);
        let client = Client::connect(&broker.addr).await.unwrap();
        let producer = Producer::new(client, producer_config).unwrap();

        let mut deliveries = Vec::new();
        for i in 0..400u32 {
            let key = format!("key-{}", i % 10);
            let record = ProducerRecord::new("t", format!("{key}:{i}")).key(key.clone());
            deliveries.push((key, i, producer.send(record).await));
        }
        producer.flush().await.unwrap();

        for (key, i, delivery) in deliveries {
            let meta = delivery.await.unwrap();
            assert_eq!(meta.partition, partition_for_key(key.as_bytes(), 4));
            let stored = broker.records("t", meta.partition);
            let offset = meta.offset.unwrap();
            let (_, k, v) = &stored[offset as usize];
            assert_eq!(k.as_deref(), Some(key.as_bytes()));
            assert_eq!(v.as_deref(), Some(format!("{key}:{i}").as_bytes()));
        }
        // Per key, values come back in send order.
        for p in 0..4 {
            let mut last: std::collections::HashMap<Vec<u8>, u32> = Default::default();
            for (_, k, v) in broker.records("t", p) {
                let v = String::from_utf8(v.unwrap()).unwrap();
                let n: u32 = v.split(':').nth(1).unwrap().parse().unwrap();
                if let Some(prev) = last.insert(k.unwrap(), n) {
                    assert!(prev < n, "reordered: {prev} then {n}");
                }
            }
        }
        producer.close().await;
        let state = broker.state.lock();
        assert!(
            state.max_outstanding > 1,
            "produce requests were not pipelined"
        );
        assert!(state.produce_log.iter().all(|&(_, acks, _)| acks == -1));
    }
}

#[tokio::test]
async fn unkeyed_records_spread_over_partitions() {
    bounded(async {
        let broker = FakeBroker::start().await;
        broker.create_topic("t", 3);
        let client = Client::connect(&broker.addr).await.unwrap();
        let producer = Producer::new(client, config()).unwrap();
        let mut deliveries = Vec::new();
        for i in 0..300 {
            deliveries.push(
                producer
                    .send(ProducerRecord::new("t", vec![i as u8; 40]))
                    .await,
            );
        }
        let mut seen = [0; 3];
        for d in deliveries {
            seen[d.await.unwrap().partition as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
        assert_eq!(seen.iter().sum::<i32>(), 300);
    })
    .await;
}

/// A retriable error is retried after a backoff and the record is stored
/// once; a later record of the same partition is not stored before it.
#[tokio::test]
async fn retries_a_retriable_error() {
    bounded(async {
        let broker = FakeBroker::start().await;
        broker.create_topic("t", 1);
        broker
            .state
            .lock()
            .produce_errors
            .extend([ErrorCode::RequestTimedOut, ErrorCode::BrokerShuttingDown]);
        let client = Client::connect(&broker.addr).await.unwrap();
        let producer = Producer::new(client, config()).unwrap();

        let first = producer
            .send(ProducerRecord::new("t", "first").partition(0))
            .await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        let second = producer
            .send(ProducerRecord::new("t", "second").partition(0))
            .await;
        assert_eq!(first.await.unwrap().offset, Some(0));
        assert_eq!(second.await.unwrap().offset, Some(1));

        let values: Vec<_> = broker
            .records("t", 0)
            .into_iter()
            .map(|r| r.2.unwrap())
            .collect();
        assert_eq!(values, vec![b"first".to_vec(), b"second".to_vec()]);
        // Two failed attempts, then "second" either joins the retried
        // request (it queued behind it meanwhile) or follows it.
        let requests = broker.state.lock().produce_log.len();
        assert!((3..=4).contains(&requests), "{requests} requests");
    })
    .await;
}

/// A connection lost mid-request fails it retriably; the retry reconnects.
#[tokio::test]
async fn retries_after_a_lost_connection() {
    bounded(async {
        let broker = FakeBroker::start().await;
        broker.create_topic("t", 1);
        broker.state.lock().drop_produces = 1;
        let client = Client::connect(&broker.addr).await.unwrap();
        let producer = Producer::new(client, config()).unwrap();
        let meta = producer
            .send(ProducerRecord::new("t", "x").partition(0))
            .await
            .await
            .unwrap();
        assert_eq!(meta.offset, Some(0));
        assert_eq!(broker.records("t", 0).len(), 1);
    })
    .await;
}

#[tokio::test]
async fn does_not_retry_a_fatal_error() {
    bounded(async {
        let broker = FakeBroker::start().await;
        broker.create_topic("t", 1);
        broker
            .state
            .lock()
            .produce_errors
            .push_back(ErrorCode::DiskFull);
        let client = Client::connect(&broker.addr).await.unwrap();
        let producer = Producer::new(client, config()).unwrap();

        let err = producer
            .send(ProducerRecord::new("t", "x").partition(0))
            .await
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ClientError::Broker {
                    code: ErrorCode::DiskFull,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(broker.state.lock().produce_log.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn gives_up_after_the_retries() {
    bounded(async {
        let broker = FakeBroker::start().await;
        broker.create_topic("t", 1);
        broker
            .state
            .lock()
            .produce_errors
            .extend([ErrorCode::CorruptMessage; 3]);
        let client = Client::connect(&broker.addr).await.unwrap();
        let producer = Producer::new(
            client,
            ProducerConfig {
                retries: 2,
                ..config()
            },
        )
        .unwrap();
        let err = producer
            .send(ProducerRecord::new("t", "x").partition(0))
            .await
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::CorruptMessage));
        assert_eq!(broker.state.lock().produce_log.len(), 3);
    })
    .await;
}

/// With acks=0 the broker sends nothing back: deliveries resolve once the
/// request is written, without offsets, and nothing waits for an answer
/// (a one-hour request timeout would otherwise hang the test).
#[tokio::test]
async fn acks_zero_does_not_wait() {
    bounded(async {
        let broker = FakeBroker::start().await;
        broker.create_topic("t", 2);
        let client_config = sluice_client::ClientConfig {
            request_timeout: Duration::from_secs(3600),
            ..Default::default()
        };
        let client = Client::connect_with(&broker.addr, client_config)
            .await
            .unwrap();
        let producer = Producer::new(
            client,
            ProducerConfig {
                acks: Acks::None,
                ..config()
            },
        )
        .unwrap();
        let mut deliveries = Vec::new();
        for i in 0..50 {
            deliveries.push(
                producer
                    .send(ProducerRecord::new("t", format!("v{i}")).key(format!("k{i}")))
                    .await,
            );
        }
        producer.flush().await.unwrap();
        for d in deliveries {
            assert_eq!(d.await.unwrap().offset, None);
        }
        // The records did arrive.
        let stored = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let n = broker.records("t", 0).len() + broker.records("t", 1).len();
                if n == 50 {
                    return n;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .unwrap();
        assert_eq!(stored, 50);
        let state = broker.state.lock();
        assert!(state.produce_log.iter().all(|&(_, acks, _)| acks == 0));
        // Only the metadata lookup was answered.
        assert_eq!(state.responses_sent, 1);
    })
    .await;
}

#[tokio::test]
async fn unknown_topic_fails_the_record() {
    bounded(async {
        let broker = FakeBroker::start().await;
        let client = Client::connect(&broker.addr).await.unwrap();
        let producer = Producer::new(client, config()).unwrap();
        let err = producer
            .send(ProducerRecord::new("nope", "x"))
            .await
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::UnknownTopicOrPartition));
    })
    .await;
}
