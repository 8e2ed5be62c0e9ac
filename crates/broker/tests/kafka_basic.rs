//! The Kafka listener with a hand-made client: ApiVersions and its
//! fallback, Metadata, Produce/Fetch round trip through sendfile,
//! ListOffsets, produce validation, acks = 0, long poll.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use common::kafka::*;
use common::*;
use sluice_kafka::ErrorCode;
use sluice_kafka::api::api_versions::ApiVersionsRequest;
use sluice_kafka::api::list_offsets::{ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic};
use sluice_kafka::api::metadata::MetadataRequest;
use sluice_network::TransferMode;

#[tokio::test]
async fn api_versions_v3_and_the_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, addr) = start_kafka(dir.path()).await;
    let mut client = KafkaClient::connect(addr).await;
    let response = client.call(3, ApiVersionsRequest::default()).await;
    let response = expect_response!(response, ApiVersions);
    assert_eq!(response.error_code, ErrorCode::NONE);
    let produce = response.api_keys.iter().find(|r| r.api_key == 0).unwrap();
    assert_eq!((produce.min_version, produce.max_version), (3, 8));
    assert_eq!(response.api_keys.len(), 17);

    // A newer client (kafka-python sends v4): a v0 body with error 35 and
    // the ApiVersions range, header v0; the connection stays usable.
    let mut raw = BytesMut::new();
    raw.put_i32(0);
    raw.put_i16(18);
    raw.put_i16(4);
    raw.put_i32(77);
    raw.put_i16(-1);
    raw.put_u8(0); // header tagged fields (v2 header of a flexible version)
    raw.put_u8(0); // body
    let size = raw.len() as i32 - 4;
    raw[..4].copy_from_slice(&size.to_be_bytes());
    client.send_raw(&raw).await;
    let mut frame = client.read_frame().await;
    let header = sluice_kafka::ResponseHeader::decode(&mut frame, 0).unwrap();
    assert_eq!(header.correlation_id, 77);
    let fallback = expect_response!(
        sluice_kafka::Response::decode(18, 0, frame).unwrap(),
        ApiVersions
    );
    assert_eq!(fallback.error_code, ErrorCode::UNSUPPORTED_VERSION);
    assert_eq!(fallback.api_keys.len(), 1);
    assert_eq!(
        (
            fallback.api_keys[0].api_key,
            fallback.api_keys[0].min_version,
            fallback.api_keys[0].max_version
        ),
        (18, 0, 3)
    );
    // ... and it retries with v0.
    let response = expect_response!(
        client.call(0, ApiVersionsRequest::default()).await,
        ApiVersions
    );
    assert_eq!(response.error_code, ErrorCode::NONE);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn metadata_reports_one_node_and_auto_creates() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = kafka_config(dir.path());
    config.auto_create_topics = true;
    let broker = sluice_broker::Broker::start(config).await.unwrap();
    let addr = broker.kafka_addr().unwrap();
    let mut client = KafkaClient::connect(addr).await;
    create_kafka_topic(&mut client, "orders", 3).await;

    let response = client
        .call(
            8,
            MetadataRequest {
                topics: Some(vec!["orders".into()]),
                allow_auto_topic_creation: false,
                ..MetadataRequest::default()
            },
        )
        .await;
    let metadata = expect_response!(response, Metadata);
    assert_eq!(metadata.controller_id, 0);
    assert_eq!(metadata.brokers.len(), 1);
    assert_eq!(metadata.brokers[0].port, i32::from(addr.port()));
    assert_eq!(metadata.brokers[0].host, "127.0.0.1");
    let topic = &metadata.topics[0];
    assert_eq!(topic.error_code, 0);
    assert_eq!(topic.partitions.len(), 3);
    for p in &topic.partitions {
        assert_eq!((p.leader_id, p.leader_epoch), (0, -1));
        assert_eq!(p.replica_nodes, vec![0]);
    }

    // Not allowed to create: unknown. Allowed: created with the defaults.
    let response = client
        .call(
            8,
            MetadataRequest {
                topics: Some(vec!["new".into()]),
                allow_auto_topic_creation: false,
                ..MetadataRequest::default()
            },
        )
        .await;
    assert_eq!(
        expect_response!(response, Metadata).topics[0].error_code,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
    );
    let response = client
        .call(
            4,
            MetadataRequest {
                topics: Some(vec!["new".into()]),
                ..MetadataRequest::default()
            },
        )
        .await;
    let created = expect_response!(response, Metadata);
    assert_eq!(created.topics[0].error_code, 0);
    assert_eq!(created.topics[0].partitions.len(), 1);

    // Null topics: all of them.
    let all = expect_response!(client.call(1, MetadataRequest::default()).await, Metadata);
    let names: Vec<_> = all.topics.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["new", "orders"]);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn produce_fetch_round_trip_via_sendfile() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, addr) = start_kafka(dir.path()).await;
    let mut client = KafkaClient::connect(addr).await;
    create_kafka_topic(&mut client, "t", 1).await;
    let first = batch(&[b"one", b"two"]);
    let second = batch(&[&[9u8; 5000]]);
    assert_eq!(
        kafka_produce(&mut client, "t", 0, first.clone()).await,
        (0, 0)
    );
    assert_eq!(
        kafka_produce(&mut client, "t", 0, second.clone()).await,
        (0, 2)
    );

    let before = broker.stats().transfer_bytes(TransferMode::Sendfile);
    let fetch = expect_response!(client.call(11, fetch_request("t", 0, 0)).await, Fetch);
    assert_eq!((fetch.error_code, fetch.session_id), (0, 0));
    let p = &fetch.responses[0].partitions[0];
    assert_eq!(
        (
            p.error_code,
            p.high_watermark,
            p.last_stable_offset,
            p.log_start_offset
        ),
        (0, 3, 3, 0)
    );
    let records = p.records.clone().unwrap();
    // The stored batches are the produced bytes with the base offset set.
    let mut expected = first.to_vec();
    expected.extend_from_slice(&second);
    expected[..8].copy_from_slice(&0i64.to_be_bytes());
    let at = first.len();
    expected[at..at + 8].copy_from_slice(&2i64.to_be_bytes());
    assert_eq!(&records[..], &expected[..]);
    let sent = broker.stats().transfer_bytes(TransferMode::Sendfile) - before;
    assert_eq!(
        sent,
        records.len() as u64,
        "record bytes left through sendfile"
    );

    // From offset 2, a partition limit below the batch: the batch still comes whole.
    let mut request = fetch_request("t", 0, 2);
    request.topics[0].partitions[0].partition_max_bytes = 10;
    let fetch = expect_response!(client.call(4, request).await, Fetch);
    let records = fetch.responses[0].partitions[0].records.clone().unwrap();
    assert_eq!(records.len(), second.len());
    assert_eq!(self::records(&records, 0).len(), 1);

    // At the end: empty records; past it: OFFSET_OUT_OF_RANGE.
    let fetch = expect_response!(client.call(11, fetch_request("t", 0, 3)).await, Fetch);
    assert_eq!(
        fetch.responses[0].partitions[0]
            .records
            .as_ref()
            .map(|r| r.len()),
        Some(0)
    );
    let fetch = expect_response!(client.call(11, fetch_request("t", 0, 99)).await, Fetch);
    assert_eq!(
        fetch.responses[0].partitions[0].error_code,
        ErrorCode::OFFSET_OUT_OF_RANGE
    );

    // Exactly the requested partitions come back, unknown ones with an error.
    let mut request = fetch_request("t", 0, 0);
    request
        .topics
        .push(fetch_request("nope", 7, 0).topics.remove(0));
    let fetch = expect_response!(client.call(11, request).await, Fetch);
    assert_eq!(fetch.responses.len(), 2);
    assert_eq!(fetch.responses[1].partitions[0].partition_index, 7);
    assert_eq!(
        fetch.responses[1].partitions[0].error_code,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
    );

    // A fetch session is not something this broker keeps.
    let mut request = fetch_request("t", 0, 0);
    request.session_id = 5;
    let fetch = expect_response!(client.call(11, request).await, Fetch);
    assert_eq!(fetch.error_code, ErrorCode::FETCH_SESSION_ID_NOT_FOUND);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn list_offsets_latest_earliest_and_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, addr) = start_kafka(dir.path()).await;
    let mut client = KafkaClient::connect(addr).await;
    create_kafka_topic(&mut client, "t", 1).await;
    // batch() stamps records 1_700_000_000_000 + i.
    kafka_produce(&mut client, "t", 0, batch(&[b"a", b"b", b"c"])).await;
    let query = |timestamp| ListOffsetsRequest {
        topics: vec![ListOffsetsTopic {
            name: "t".into(),
            partitions: vec![ListOffsetsPartition {
                partition_index: 0,
                timestamp,
                ..ListOffsetsPartition::default()
            }],
        }],
        ..ListOffsetsRequest::default()
    };
    for (version, timestamp, offset) in [
        (5, -1, 3),
        (1, -2, 0),
        (5, 1_700_000_000_001, 1),
        (2, 1_800_000_000_000, -1),
    ] {
        let response = expect_response!(client.call(version, query(timestamp)).await, ListOffsets);
        let p = &response.topics[0].partitions[0];
        assert_eq!(
            (p.error_code, p.offset),
            (0, offset),
            "v{version} ts {timestamp}"
        );
    }
    let response = expect_response!(
        client
            .call(
                5,
                ListOffsetsRequest {
                    topics: vec![ListOffsetsTopic {
                        name: "x".into(),
                        partitions: query(-1).topics[0].partitions.clone()
                    }],
                    ..ListOffsetsRequest::default()
                }
            )
            .await,
        ListOffsets
    );
    assert_eq!(
        response.topics[0].partitions[0].error_code,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn produce_validation_errors_and_acks_zero() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, addr) = start_kafka(dir.path()).await;
    let mut client = KafkaClient::connect(addr).await;
    create_kafka_topic(&mut client, "t", 1).await;
    let good = batch(&[b"x"]);
    let mut corrupt = good.to_vec();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    assert_eq!(
        kafka_produce(&mut client, "t", 0, corrupt.into()).await.0,
        ErrorCode::CORRUPT_MESSAGE
    );
    let mut two = good.to_vec();
    two.extend_from_slice(&good);
    assert_eq!(
        kafka_produce(&mut client, "t", 0, two.into()).await.0,
        ErrorCode::INVALID_RECORD
    );
    let huge = batch(&[&vec![1u8; 300 << 10]]);
    assert_eq!(
        kafka_produce(&mut client, "t", 0, huge).await.0,
        ErrorCode::MESSAGE_TOO_LARGE
    );
    assert_eq!(
        kafka_produce(&mut client, "t", 1, good.clone()).await.0,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_eq!(
        kafka_produce(&mut client, "missing", 0, good.clone())
            .await
            .0,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
    );
    let response = expect_response!(
        client
            .call(8, produce_request("t", 0, 5, good.clone()))
            .await,
        Produce
    );
    assert_eq!(
        response.responses[0].partitions[0].error_code,
        ErrorCode::INVALID_REQUIRED_ACKS
    );

    // acks = 0: no response; the next response is the next request's.
    let id = client
        .send(8, produce_request("t", 0, 0, good.clone()))
        .await;
    client.expect_no_response(id);
    let response = expect_response!(
        client.call(0, ApiVersionsRequest::default()).await,
        ApiVersions
    );
    assert_eq!(response.error_code, 0);
    // Nothing invalid was written; the acks = 0 batch was.
    let fetch = expect_response!(client.call(11, fetch_request("t", 0, 0)).await, Fetch);
    assert_eq!(fetch.responses[0].partitions[0].high_watermark, 1);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn fetch_long_poll_answers_when_data_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, addr) = start_kafka(dir.path()).await;
    let mut producer = KafkaClient::connect(addr).await;
    create_kafka_topic(&mut producer, "t", 1).await;
    let mut consumer = KafkaClient::connect(addr).await;
    let mut request = fetch_request("t", 0, 0);
    request.max_wait_ms = 8_000;
    request.min_bytes = 1;
    let started = Instant::now();
    consumer.send(11, request).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    kafka_produce(&mut producer, "t", 0, batch(&[b"wake"])).await;
    let (_, response) = consumer.read().await;
    let fetch = expect_response!(response, Fetch);
    assert!(started.elapsed() < Duration::from_secs(5));
    let records = fetch.responses[0].partitions[0].records.clone().unwrap();
    assert_eq!(self::records(&records, 0), vec![(0, b"wake".to_vec())]);

    // Without data, the wait ends at max_wait_ms.
    let mut request = fetch_request("t", 0, 1);
    request.max_wait_ms = 200;
    request.min_bytes = 1;
    let started = Instant::now();
    let fetch = expect_response!(consumer.call(11, request).await, Fetch);
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(
        fetch.responses[0].partitions[0]
            .records
            .as_ref()
            .map(|r| r.len()),
        Some(0)
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn create_and_delete_topics() {
    use sluice_kafka::api::create_topics::{
        CreatableTopic, CreatableTopicConfig, CreateTopicsRequest,
    };
    use sluice_kafka::api::delete_topics::DeleteTopicsRequest;
    let dir = tempfile::tempdir().unwrap();
    let (broker, addr) = start_kafka(dir.path()).await;
    let mut client = KafkaClient::connect(addr).await;
    let topic =
        |name: &str, partitions, replication_factor, configs: Vec<(&str, &str)>| CreatableTopic {
            name: name.into(),
            num_partitions: partitions,
            replication_factor,
            configs: configs
                .into_iter()
                .map(|(n, v)| CreatableTopicConfig {
                    name: n.into(),
                    value: Some(v.into()),
                })
                .collect(),
            ..CreatableTopic::default()
        };
    let request = CreateTopicsRequest {
        topics: vec![
            topic(
                "ok",
                -1,
                -1,
                vec![("retention.ms", "1000"), ("compression.type", "producer")],
            ),
            topic("ok", 1, 1, vec![]),
            topic("bad name", 1, 1, vec![]),
            topic("zero", 0, 1, vec![]),
            topic("replicated", 1, 3, vec![]),
            topic("compacted", 1, 1, vec![("cleanup.policy", "compact")]),
        ],
        ..CreateTopicsRequest::default()
    };
    let response = expect_response!(client.call(4, request).await, CreateTopics);
    let codes: Vec<i16> = response.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(
        codes,
        [
            0,
            ErrorCode::TOPIC_ALREADY_EXISTS,
            ErrorCode::INVALID_TOPIC_EXCEPTION,
            ErrorCode::INVALID_PARTITIONS,
            ErrorCode::INVALID_CONFIG,
            ErrorCode::INVALID_CONFIG
        ]
    );
    assert_eq!(
        broker
            .state()
            .topics
            .get("ok")
            .unwrap()
            .settings
            .retention_ms,
        1000
    );
    let validate = CreateTopicsRequest {
        topics: vec![topic("dry", 2, 1, vec![])],
        validate_only: true,
        ..CreateTopicsRequest::default()
    };
    let response = expect_response!(client.call(2, validate).await, CreateTopics);
    assert_eq!(response.topics[0].error_code, 0);
    assert!(broker.state().topics.get("dry").is_none());

    let delete = DeleteTopicsRequest {
        topic_names: vec!["ok".into(), "never".into()],
        timeout_ms: 1000,
    };
    let response = expect_response!(client.call(3, delete).await, DeleteTopics);
    let codes: Vec<i16> = response.responses.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, [0, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION]);
    assert!(broker.state().topics.get("ok").is_none());
    broker.shutdown().await.unwrap();
}
