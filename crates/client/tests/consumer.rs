//! The consumer against the in-test fake broker: long poll, partial tails,
//! batches starting before the position, seeks and group offsets.

// Test helpers outside #[test] functions may panic on broken fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{FakeBroker, bounded};
use sluice_client::{
    Client, Consumer, ConsumerConfig, OffsetReset, Producer, ProducerConfig, ProducerRecord,
    SeekTo, TopicPartition,
};
use sluice_record::BatchBuilder;

/// A batch of values `prefix0..prefixN` with timestamps `ts0 + i`.
fn batch(prefix: &str, n: usize, ts0: i64) -> Vec<u8> {
    let mut b = BatchBuilder::new();
    for i in 0..n {
        let value = format!("{prefix}{i}");
        b.append(
            ts0 + i as i64,
            None,
            Some(value.as_bytes()),
            &[(b"n", Some(b"1"))],
        );
    }
    b.build().to_vec()
}

fn values(records: &[sluice_client::ConsumerRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap())
        .collect()
}

fn earliest() -> ConsumerConfig {
    ConsumerConfig {
        auto_offset_reset: OffsetReset::Earliest,
        fetch_max_wait: Duration::from_millis(200),
        ..ConsumerConfig::default()
    }
}

/// A poll on an empty partition waits in the broker (long poll) and
/// returns as soon as a record is produced.
#[tokio::test]
async fn long_poll_returns_when_data_arrives() {
    bounded(async {
        let broker = FakeBroker::start().await;
        broker.create_topic("t", 1);
        let client = Client::connect(&broker.addr).await.unwrap();
        let config = ConsumerConfig {
            fetch_max_wait: Duration::from_secs(5),
            ..earliest()
        };
        let mut consumer = Consumer::new(client.clone(), config);
        consumer.assign([TopicPartition::new("t", 0)]);

        let producer = Producer::new(client, ProducerConfig::default()).unwrap();
        let started = Instant::now();
        let (records, ()) = tokio::join!(consumer.poll(Duration::from_secs(10)), async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            producer
                .send(ProducerRecord::new("t", "late"))
                .await
                .await
                .unwrap();
        });
        let records = records.unwrap();
        assert_eq!(values(&records), vec!["late"]);
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        // One long-poll fetch, not a busy loop.
        assert!(broker.state.lock().fetches <= 2);
    })
    .await;
}

#[tokio::test]
async fn poll_times_out_empty() {
    bounded(async {
        let broker = FakeBroker::start().await;
        broker.create_topic("t", 1);
        let client = Client::connect(&broker.addr).await.unwrap();
        let mut consumer = Consumer::new(client, earliest());
        consumer.assign([TopicPartition::new("t", 0)]);
        let started = Instant::now();
        assert!(
            consumer
                .poll(Duration::from_millis(300))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(started.elapsed() >= Duration::from_millis(250));
    })
    .await;
}

/// Fetches cut mid-batch by the partition byte limit still deliver every
/// record exactly once, in order.
#[tokio::test]
async fn partial_tails_are_refetched() {
    bounded(async {
        let broker = FakeBroker::start().await;
        broker.create_topic("t", 1);
        for b in 0..6 {
            broker.append("t", 0, &batch(&format!("b{b}-"), 5, 1000));
        }
        let client = Client::connect(&broker.addr).await.unwrap();
        let one_batch = batch("b0-", 5, 1000).len() as u32;
        let config = ConsumerConfig {
            // Room for one and a half batches: every fetch ends partial.
            partition_max_bytes: one_batch + one_batch / 2,
            ..earliest()
        };
        let mut consumer = Consumer::new(client, config);
        consumer.assign([TopicPartition::new("t", 0)]);
        let mut got = Vec::new();
        while got.len() < 30 {
            let records = consumer.poll(Duration::from_secs(2)).await.unwrap();
            assert!(!records.is_empty());
            got.extend(records);
        }
        let offsets: Vec<i64> = got.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, (0..30).collect::<Vec<_>>());
        assert_eq!(values(&got)[7], "b1-2");
        assert_eq!(got[0].headers[0].key, "n");
    })
    .await;
}

/// Seeking into the middle of a batch returns records from that offset on,
/// although the broker sends the whole batch.
#[tokio::test]
async fn seek_into_a_batch_skips_earlier_records() {
    bounded(async {
        let broker = FakeBroker::start().await;
        broker.create_topic("t", 1);
        broker.append("t", 0, &batch("a", 5, 1000));
        broker.append("t", 0, &batch("b", 5, 2000));
        let client = Client::connect(&broker.addr).await.unwrap();
        let tp = TopicPartition::new("t", 0);
        let mut consumer = Consumer::new(client, earliest());
        consumer.assign([tp.clone()]);

        consumer.seek(&tp, SeekTo::Offset(3)).unwrap();
        let records = consumer.poll(Duration::from_secs(2)).await.unwrap();
        assert_eq!(
            values(&records),
            vec!["a3", "a4", "b0", "b1", "b2", "b3", "b4"]
        );
        assert_eq!(records[0].offset, 3);

        consumer.seek(&tp, SeekTo::Timestamp(2002)).unwrap();
        let records = consumer.poll(Duration::from_secs(2)).await.unwrap();
        assert_eq!(values(&records), vec!["b2", "b3", "b4"]);

        consumer.seek(&tp, SeekTo::Latest).unwrap();
        assert_eq!(consumer.position(&tp).await.unwrap(), 10);
        consumer.seek(&tp, SeekTo::Timestamp(9999)).unwrap();
        assert_eq!(
            consumer.position(&tp).await.unwrap(),
            10,
            "no match: the end"
        );
        consumer.seek(&tp, SeekTo::Earliest).unwrap();
        assert_eq!(consumer.position(&tp).await.unwrap(), 0);

        let other = TopicPartition::new("t", 9);
        assert!(consumer.seek(&other, SeekTo::Earliest).is_err());
    })
    .await;
}

#[tokio::test]
async fn out_of_range_resets() {
    bounded(async {
        let broker = FakeBroker::start().await;
        broker.create_topic("t", 1);
        broker.append("t", 0, &batch("a", 3, 1000));
        let client = Client::connect(&broker.addr).await.unwrap();
        let tp = TopicPartition::new("t", 0);
        let mut consumer = Consumer::new(client, earliest());
        consumer.assign([tp.clone()]);
        consumer.seek(&tp, SeekTo::Offset(100)).unwrap();
        let mut got = Vec::new();
        while got.len() < 3 {
            got.extend(consumer.poll(Duration::from_secs(2)).await.unwrap());
        }
        assert_eq!(values(&got), vec!["a0", "a1", "a2"]);
    })
    .await;
}

/// A group starts where it committed; without a commit, at the reset
/// policy. (Assigned partitions: a subscribed consumer with a group id
/// joins the group instead, which this fake broker does not serve; see
/// `tests/groups.rs` against the real broker.)
#[tokio::test]
async fn group_resumes_from_commit() {
    bounded(async {
        let broker = FakeBroker::start().await;
        broker.create_topic("t", 2);
        broker.append("t", 0, &batch("p0-", 4, 1000));
        broker.append("t", 1, &batch("p1-", 4, 1000));
        let client = Client::connect(&broker.addr).await.unwrap();
        let config = ConsumerConfig {
            group_id: Some("g".into()),
            auto_commit_interval: None,
            ..earliest()
        };

        let both = [TopicPartition::new("t", 0), TopicPartition::new("t", 1)];
        let mut first = Consumer::new(client.clone(), config.clone());
        first.assign(both.clone());
        assert_eq!(first.assignment().len(), 2);
        let mut got = Vec::new();
        while got.len() < 8 {
            got.extend(first.poll(Duration::from_secs(2)).await.unwrap());
        }
        first.commit().await.unwrap();

        broker.append("t", 0, &batch("new-", 1, 5000));
        let mut second = Consumer::new(client.clone(), config);
        second.assign(both);
        let records = second.poll(Duration::from_secs(2)).await.unwrap();
        assert_eq!(values(&records), vec!["new-0"]);
        assert_eq!(records[0].offset, 4);

        // Without a group id, `subscribe` takes every partition.
        let mut everything = Consumer::new(client.clone(), earliest());
        everything.subscribe(&["t"]).await.unwrap();
        assert_eq!(everything.assignment().len(), 2);

        let mut anonymous = Consumer::new(client, earliest());
        anonymous.assign([TopicPartition::new("t", 0)]);
        assert!(matches!(
            anonymous.commit().await,
            Err(sluice_client::ClientError::NoGroup)
        ));
    })
    .await;
}

#[tokio::test]
async fn auto_commit_on_interval() {
    bounded(async {
        let broker = FakeBroker::start().await;
        broker.create_topic("t", 1);
        broker.append("t", 0, &batch("a", 3, 1000));
        let client = Client::connect(&broker.addr).await.unwrap();
        let config = ConsumerConfig {
            group_id: Some("auto".into()),
            auto_commit_interval: Some(Duration::from_millis(50)),
            ..earliest()
        };
        let mut consumer = Consumer::new(client, config);
        consumer.assign([TopicPartition::new("t", 0)]);
        assert_eq!(
            consumer.poll(Duration::from_secs(2)).await.unwrap().len(),
            3
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        // The next poll commits the position after the records returned.
        consumer.poll(Duration::from_millis(10)).await.unwrap();
        let commit = broker
            .state
            .lock()
            .commits
            .get(&("auto".into(), "t".into(), 0))
            .copied();
        assert_eq!(commit, Some(3));
    })
    .await;
}

/// A producer compressing with each codec, a consumer reading it back:
/// batches arrive at the broker compressed, records come out whole.
#[tokio::test]
async fn compressed_round_trip_for_every_codec() {
    use sluice_client::CompressionType;
    use sluice_record::{Compression, RecordBatch};

    bounded(async {
        let broker = FakeBroker::start().await;
        for (i, compression) in CompressionType::ALL.into_iter().enumerate() {
            let topic = format!("z{i}");
            broker.create_topic(&topic, 1);
            let client = Client::connect(&broker.addr).await.unwrap();
            let producer = Producer::new(
                client.clone(),
                ProducerConfig {
                    compression,
                    linger: Duration::from_millis(20),
                    ..ProducerConfig::default()
                },
            )
            .unwrap();
            let mut deliveries = Vec::new();
            for n in 0..300 {
                let record = ProducerRecord::new(topic.clone(), format!("{compression} value {n}"))
                    .key(format!("k{}", n % 3))
                    .partition(0);
                deliveries.push(producer.send(record).await);
            }
            for d in deliveries {
                d.await.unwrap();
            }
            producer.close().await;

            let stored = broker.state.lock().topics[&topic][0].batches.clone();
            for (_, bytes) in &stored {
                let batch = RecordBatch::parse(bytes).unwrap();
                assert_eq!(batch.header().compression(), compression.codec());
                if compression.codec() != Compression::None {
                    assert!(batch.records().is_err(), "stored compressed");
                }
            }

            let mut consumer = Consumer::new(client, earliest());
            consumer.assign([TopicPartition::new(topic.clone(), 0)]);
            let mut got = Vec::new();
            while got.len() < 300 {
                got.extend(consumer.poll(Duration::from_secs(2)).await.unwrap());
            }
            let expected: Vec<String> = (0..300)
                .map(|n| format!("{compression} value {n}"))
                .collect();
            assert_eq!(values(&got), expected, "{compression}");
            let offsets: Vec<i64> = got.iter().map(|r| r.offset).collect();
            assert_eq!(offsets, (0..300).collect::<Vec<i64>>());
            assert_eq!(got[4].key.as_deref(), Some(&b"k1"[..]));
        }
    })
    .await;
}
