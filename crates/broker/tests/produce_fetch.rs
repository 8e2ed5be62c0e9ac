//! Produce, fetch, long poll, pipelining and the admin APIs against an
//! in-process broker on port 0.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use sluice_protocol::consts::{
    ACKS_ALL, ACKS_LEADER, ACKS_NONE, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP,
};
use sluice_protocol::{ApiKey, ErrorCode, pb};

#[tokio::test]
async fn produce_fetch_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut client = Client::connect(broker.local_addr()).await;
    create_topic(&mut client, "orders", 2).await;

    let first = produce_values(&mut client, "orders", 1, &[b"a", b"b", b"c"]).await;
    assert_eq!((first.base_offset, first.last_offset), (0, 2));
    let second = client
        .call(&produce(
            "orders",
            1,
            ACKS_LEADER,
            vec![batch(&[b"d"]), batch(&[b"e", b"f"])],
        ))
        .await;
    assert_eq!(code(second.error_code), ErrorCode::None);
    assert_eq!((second.base_offset, second.last_offset), (3, 5));

    let got = fetch_all(&mut client, "orders", 1, 0).await;
    let values: Vec<&[u8]> = got.iter().map(|(_, v)| v.as_slice()).collect();
    assert_eq!(values, [b"a", b"b", b"c", b"d", b"e", b"f"]);
    assert_eq!(
        got.iter().map(|(o, _)| *o).collect::<Vec<_>>(),
        (0..6).collect::<Vec<_>>()
    );

    // From the middle: the stored batch holding offset 4 starts at 4.
    assert_eq!(fetch_all(&mut client, "orders", 1, 4).await.len(), 2);
    // The other partition is empty.
    assert!(fetch_all(&mut client, "orders", 0, 0).await.is_empty());

    let metadata = client.call(&pb::MetadataRequest { topics: vec![] }).await;
    assert_eq!(metadata.topics.len(), 1);
    let topic = &metadata.topics[0];
    assert_eq!(topic.name, "orders");
    assert_eq!(topic.partitions.len(), 2);
    assert_eq!(topic.partitions[1].log_end_offset, 6);
    assert_eq!(topic.partitions[1].high_watermark, 6);
    assert!(topic.partitions[1].size_bytes > 0);
    assert_eq!(topic.config.as_ref().unwrap().segment_bytes, Some(1 << 20));

    let offsets = client
        .call(&pb::ListOffsetsRequest {
            partitions: vec![
                pb::ListOffsetsPartition {
                    topic: "orders".into(),
                    partition: 1,
                    timestamp: LATEST_TIMESTAMP,
                },
                pb::ListOffsetsPartition {
                    topic: "orders".into(),
                    partition: 1,
                    timestamp: EARLIEST_TIMESTAMP,
                },
                pb::ListOffsetsPartition {
                    topic: "orders".into(),
                    partition: 1,
                    timestamp: 1_700_000_000_001,
                },
                pb::ListOffsetsPartition {
                    topic: "orders".into(),
                    partition: 1,
                    timestamp: 1_900_000_000_000,
                },
                pb::ListOffsetsPartition {
                    topic: "nope".into(),
                    partition: 0,
                    timestamp: LATEST_TIMESTAMP,
                },
            ],
        })
        .await;
    let got: Vec<(i64, ErrorCode)> = offsets
        .partitions
        .iter()
        .map(|p| (p.offset, code(p.error_code)))
        .collect();
    assert_eq!(
        got,
        [
            (6, ErrorCode::None),
            (0, ErrorCode::None),
            (1, ErrorCode::None),
            (-1, ErrorCode::None),
            (-1, ErrorCode::UnknownTopicOrPartition)
        ]
    );
    assert_eq!(offsets.partitions[2].timestamp, 1_700_000_000_001);

    let versions = client.call(&pb::ApiVersionsRequest {}).await;
    assert_eq!(versions.api_versions.len(), ApiKey::ALL.len());
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn long_poll_wakes_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut consumer = Client::connect(broker.local_addr()).await;
    let mut producer = Client::connect(broker.local_addr()).await;
    create_topic(&mut consumer, "events", 1).await;

    let started = Instant::now();
    let mut request = fetch("events", 0, 0);
    request.max_wait_ms = 10_000;
    request.min_bytes = 1;
    let id = consumer.send(&request).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    produce_values(&mut producer, "events", 0, &[b"wake up"]).await;

    let (response, trailing) = consumer.read_as::<pb::FetchResponse>(id).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(5),
        "long poll took {elapsed:?}"
    );
    assert!(
        elapsed >= Duration::from_millis(150),
        "answered before the produce: {elapsed:?}"
    );
    assert_eq!(response.partitions[0].high_watermark, 1);
    assert_eq!(records(&trailing, 0), [(0, b"wake up".to_vec())]);

    // With nothing arriving, the wait ends at max_wait_ms with no records.
    let mut request = fetch("events", 0, 1);
    request.max_wait_ms = 300;
    request.min_bytes = 1;
    let started = Instant::now();
    let id = consumer.send(&request).await;
    let (response, trailing) = consumer.read_as::<pb::FetchResponse>(id).await;
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(response.partitions[0].records_len, 0);
    assert!(trailing.is_empty());
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn pipelining_keeps_order() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut client = Client::connect(broker.local_addr()).await;
    create_topic(&mut client, "pipe", 1).await;

    // 200 requests back to back, mixing acks=all (waits for a flush) and
    // acks=1 (answered at once), before reading anything.
    let mut ids = Vec::new();
    for i in 0..200u32 {
        let acks = if i % 3 == 0 { ACKS_ALL } else { ACKS_LEADER };
        let value = format!("m{i}");
        ids.push(
            client
                .send(&produce("pipe", 0, acks, vec![batch(&[value.as_bytes()])]))
                .await,
        );
    }
    let mut last = -1;
    for id in ids {
        let (response, _) = client.read_as::<pb::ProduceResponse>(id).await;
        assert_eq!(code(response.error_code), ErrorCode::None);
        assert_eq!(
            response.base_offset,
            last + 1,
            "offsets follow request order"
        );
        last = response.base_offset;
    }
    assert_eq!(last, 199);
    let got = fetch_all(&mut client, "pipe", 0, 0).await;
    for (i, (offset, value)) in got.iter().enumerate() {
        assert_eq!(*offset, i as i64);
        assert_eq!(value, format!("m{i}").as_bytes());
    }
    assert_eq!(got.len(), 200);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn acks_zero_gets_no_response() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut client = Client::connect(broker.local_addr()).await;
    create_topic(&mut client, "quiet", 1).await;
    client
        .send(&produce("quiet", 0, ACKS_NONE, vec![batch(&[b"x"])]))
        .await;
    // Even a failing acks=0 produce stays silent.
    client
        .send(&produce("missing", 0, ACKS_NONE, vec![batch(&[b"x"])]))
        .await;
    let id = client
        .send(&pb::MetadataRequest {
            topics: vec!["quiet".into()],
        })
        .await;
    let (metadata, _) = client.read_as::<pb::MetadataResponse>(id).await;
    assert_eq!(metadata.topics[0].partitions[0].log_end_offset, 1);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn topic_admin_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut client = Client::connect(broker.local_addr()).await;
    create_topic(&mut client, "t", 1).await;

    let create = |name: &str, partitions: u32| pb::CreateTopicRequest {
        name: name.into(),
        partitions,
        config: None,
    };
    let again = client.call(&create("t", 1)).await;
    assert_eq!(code(again.error_code), ErrorCode::TopicAlreadyExists);
    assert_eq!(
        code(client.call(&create("bad/name", 1)).await.error_code),
        ErrorCode::InvalidTopic
    );
    assert_eq!(
        code(client.call(&create("", 1)).await.error_code),
        ErrorCode::InvalidTopic
    );
    assert_eq!(
        code(client.call(&create("zero", 0)).await.error_code),
        ErrorCode::InvalidPartitions
    );
    let bad_config = client
        .call(&pb::CreateTopicRequest {
            name: "cfg".into(),
            partitions: 1,
            config: Some(pb::TopicConfig {
                segment_bytes: Some(10),
                ..Default::default()
            }),
        })
        .await;
    assert_eq!(code(bad_config.error_code), ErrorCode::InvalidConfig);

    // Unknown topic and partition.
    let missing = client
        .call(&produce("nope", 0, ACKS_LEADER, vec![batch(&[b"x"])]))
        .await;
    assert_eq!(code(missing.error_code), ErrorCode::UnknownTopicOrPartition);
    assert_eq!(missing.base_offset, -1);
    let missing = client
        .call(&produce("t", 7, ACKS_LEADER, vec![batch(&[b"x"])]))
        .await;
    assert_eq!(code(missing.error_code), ErrorCode::UnknownTopicOrPartition);
    let fetched = client.call(&fetch("t", 9, 0)).await;
    assert_eq!(
        code(fetched.partitions[0].error_code),
        ErrorCode::UnknownTopicOrPartition
    );
    let bad_acks = client.call(&produce("t", 0, 5, vec![batch(&[b"x"])])).await;
    assert_eq!(code(bad_acks.error_code), ErrorCode::InvalidRequiredAcks);

    // Offset out of range reports the valid range.
    produce_values(&mut client, "t", 0, &[b"1", b"2"]).await;
    let id = client.send(&fetch("t", 0, 50)).await;
    let (out_of_range, trailing) = client.read_as::<pb::FetchResponse>(id).await;
    let p = &out_of_range.partitions[0];
    assert_eq!(code(p.error_code), ErrorCode::OffsetOutOfRange);
    assert_eq!(
        (p.log_start_offset, p.high_watermark, p.records_len),
        (0, 2, 0)
    );
    assert!(trailing.is_empty());

    // Delete, then the topic is gone.
    let deleted = client
        .call(&pb::DeleteTopicRequest { name: "t".into() })
        .await;
    assert_eq!(code(deleted.error_code), ErrorCode::None);
    let deleted = client
        .call(&pb::DeleteTopicRequest { name: "t".into() })
        .await;
    assert_eq!(code(deleted.error_code), ErrorCode::UnknownTopicOrPartition);
    let metadata = client
        .call(&pb::MetadataRequest {
            topics: vec!["t".into()],
        })
        .await;
    assert_eq!(
        code(metadata.topics[0].error_code),
        ErrorCode::UnknownTopicOrPartition
    );
    assert!(!dir.path().join("topics").join("t").exists());
    // And it can be created again, empty.
    create_topic(&mut client, "t", 1).await;
    assert!(fetch_all(&mut client, "t", 0, 0).await.is_empty());
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn auto_create_on_produce() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.auto_create_topics = true;
    config.topic_defaults.partitions = 3;
    let broker = sluice_broker::Broker::start(config).await.unwrap();
    let mut client = Client::connect(broker.local_addr()).await;
    let response = produce_values(&mut client, "fresh", 2, &[b"hello"]).await;
    assert_eq!(response.base_offset, 0);
    let metadata = client
        .call(&pb::MetadataRequest {
            topics: vec!["fresh".into()],
        })
        .await;
    assert_eq!(metadata.topics[0].partitions.len(), 3);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn consumer_offsets_commit_and_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut client = Client::connect(broker.local_addr()).await;
    create_topic(&mut client, "t", 2).await;
    let commit = client
        .call(&pb::CommitOffsetsRequest {
            group: "g".into(),
            partitions: vec![
                pb::CommitOffsetsPartition {
                    topic: "t".into(),
                    partition: 0,
                    offset: 42,
                    metadata: "m".into(),
                },
                pb::CommitOffsetsPartition {
                    topic: "t".into(),
                    partition: 1,
                    offset: -5,
                    metadata: String::new(),
                },
                pb::CommitOffsetsPartition {
                    topic: "x".into(),
                    partition: 0,
                    offset: 1,
                    metadata: String::new(),
                },
            ],
            ..Default::default()
        })
        .await;
    let codes: Vec<ErrorCode> = commit
        .partitions
        .iter()
        .map(|p| code(p.error_code))
        .collect();
    assert_eq!(
        codes,
        [
            ErrorCode::None,
            ErrorCode::InvalidOffset,
            ErrorCode::UnknownTopicOrPartition
        ]
    );

    let fetched = client
        .call(&pb::FetchOffsetsRequest {
            group: "g".into(),
            partitions: vec![
                pb::TopicPartition {
                    topic: "t".into(),
                    partition: 0,
                },
                pb::TopicPartition {
                    topic: "t".into(),
                    partition: 1,
                },
            ],
        })
        .await;
    let got: Vec<(i64, &str)> = fetched
        .partitions
        .iter()
        .map(|p| (p.offset, p.metadata.as_str()))
        .collect();
    assert_eq!(got, [(42, "m"), (-1, "")]);
    let empty_group = client
        .call(&pb::FetchOffsetsRequest {
            group: String::new(),
            partitions: vec![],
        })
        .await;
    assert_eq!(code(empty_group.error_code), ErrorCode::InvalidGroup);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn acks_all_answers_after_flush_and_acks_one_after_append() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.topic_defaults.flush_interval_ms = 0; // no background flushing
    let broker = sluice_broker::Broker::start(config).await.unwrap();
    let mut client = Client::connect(broker.local_addr()).await;
    create_topic(&mut client, "d", 1).await;
    let partition = broker.state().topics.partition("d", 0).unwrap();

    let leader = client
        .call(&produce("d", 0, ACKS_LEADER, vec![batch(&[b"a", b"b"])]))
        .await;
    assert_eq!(leader.last_offset, 1);
    assert_eq!(partition.log.log_end_offset(), 2);
    assert_eq!(
        partition.log.flushed_offset(),
        0,
        "acks=1 does not wait for a flush"
    );

    let all = client
        .call(&produce("d", 0, ACKS_ALL, vec![batch(&[b"c"])]))
        .await;
    assert_eq!(all.base_offset, 2);
    assert!(
        partition.log.flushed_offset() >= 3,
        "acks=-1 answered only once flushed"
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_broker_caps_its_partitions_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.max_partitions = 5;
    let broker = sluice_broker::Broker::start(config).await.unwrap();
    let mut client = Client::connect(broker.local_addr()).await;
    let create = |name: &str, partitions| pb::CreateTopicRequest {
        name: name.into(),
        partitions,
        config: None,
    };
    let first = client.call(&create("a", 3)).await;
    assert_eq!(code(first.error_code), ErrorCode::None);
    let refused = client.call(&create("b", 3)).await;
    assert_eq!(code(refused.error_code), ErrorCode::InvalidPartitions);
    assert!(
        refused.error_message.contains("--max-partitions"),
        "{}",
        refused.error_message
    );
    let fits = client.call(&create("b", 2)).await;
    assert_eq!(code(fits.error_code), ErrorCode::None);
    broker.shutdown().await.unwrap();
}
