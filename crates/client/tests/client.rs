//! The client against the in-test fake broker: admin calls, pipelining,
//! timeouts and reconnects.

// Test helpers outside #[test] functions may panic on broken fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{FakeBroker, bounded};
use sluice_client::{
    Client, ClientConfig, ClientError, ErrorCode, OffsetSpec, TopicConfig, TopicPartition,
};

#[tokio::test]
async fn admin_round_trip() {
    bounded(async {
        let broker = FakeBroker::start().await;
        let client = Client::connect(&broker.addr).await.unwrap();

        let versions = client.api_versions().await.unwrap();
        assert_eq!(versions.broker_version, "fake");
        assert_eq!(
            versions.apis.len(),
            sluice_client::protocol::ApiKey::ALL.len()
        );

        client
            .create_topic("orders", 3, TopicConfig::default())
            .await
            .unwrap();
        let err = client
            .create_topic("orders", 3, TopicConfig::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::TopicAlreadyExists));
        assert!(!err.is_retriable());

        let topics = client.list_topics().await.unwrap();
        assert_eq!(topics.len(), 1);
        assert_eq!(topics[0].name, "orders");
        let parts: Vec<u32> = topics[0].partitions.iter().map(|p| p.partition).collect();
        assert_eq!(parts, vec![0, 1, 2]);

        let err = client.topic("missing").await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::UnknownTopicOrPartition));

        let tp = TopicPartition::new("orders", 1);
        let listed = client
            .list_offsets(&[
                (tp.clone(), OffsetSpec::Earliest),
                (tp.clone(), OffsetSpec::Latest),
            ])
            .await
            .unwrap();
        assert_eq!(listed[0].offset, Some(0));
        assert_eq!(listed[1].offset, Some(0));

        let before = client
            .fetch_offsets("g", std::slice::from_ref(&tp))
            .await
            .unwrap();
        assert_eq!(before[0].offset, None);
        client
            .commit_offsets("g", &[(tp.clone(), 42)])
            .await
            .unwrap();
        let after = client
            .fetch_offsets("g", std::slice::from_ref(&tp))
            .await
            .unwrap();
        assert_eq!(after[0].offset, Some(42));
        let err = client.commit_offsets("", &[(tp, 1)]).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidGroup));

        client.delete_topic("orders").await.unwrap();
        assert!(client.list_topics().await.unwrap().is_empty());
    })
    .await;
}

/// `list_groups` and `describe_group` turn the wire types into typed
/// results: committed offsets, high watermarks, lag, a missing group.
#[tokio::test]
async fn group_calls_are_typed() {
    bounded(async {
        let broker = FakeBroker::start().await;
        broker.create_topic("orders", 2);
        broker.append("orders", 0, &common::values_batch(&["a", "b", "c", "d"]));
        let client = Client::connect(&broker.addr).await.unwrap();
        assert!(client.list_groups().await.unwrap().is_empty());
        client
            .commit_offsets(
                "billing",
                &[
                    (TopicPartition::new("orders", 0), 1),
                    (TopicPartition::new("orders", 1), 0),
                ],
            )
            .await
            .unwrap();

        let groups = client.list_groups().await.unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(
            (groups[0].group.as_str(), groups[0].state.as_str()),
            ("billing", "Empty")
        );

        let g = client.describe_group("billing").await.unwrap();
        assert!(g.members.is_empty());
        let rows: Vec<_> = g
            .offsets
            .iter()
            .map(|o| {
                (
                    o.topic_partition.partition,
                    o.committed,
                    o.high_watermark,
                    o.lag(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                (0, Some(1), Some(4), Some(3)),
                (1, Some(0), Some(0), Some(0))
            ]
        );

        let err = client.describe_group("nosuch").await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::GroupIdNotFound));
        assert!(err.to_string().contains("group nosuch"), "{err}");
    })
    .await;
}

/// Many concurrent requests on one connection are all written before the
/// first answer comes back, and each caller gets its own answer.
#[tokio::test]
async fn requests_are_pipelined() {
    bounded(async {
        let broker = FakeBroker::start().await;
        for i in 0..8 {
            broker.create_topic(&format!("t{i}"), i + 1);
        }
        broker.state.lock().delay = Duration::from_millis(30);
        let client = Client::connect(&broker.addr).await.unwrap();

        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..8u32 {
            let client = client.clone();
            tasks.spawn(async move {
                let topic = client.topic(&format!("t{i}")).await.unwrap();
                (i, topic.partitions.len() as u32)
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (i, partitions) = done.unwrap();
            assert_eq!(partitions, i + 1, "answer matched to the wrong request");
        }
        let max = broker.state.lock().max_outstanding;
        assert!(
            max > 1,
            "requests were not pipelined (max outstanding {max})"
        );
    })
    .await;
}

#[tokio::test]
async fn request_timeout() {
    bounded(async {
        let broker = FakeBroker::start().await;
        let config = ClientConfig {
            request_timeout: Duration::from_millis(100),
            ..ClientConfig::default()
        };
        let client = Client::connect_with(&broker.addr, config).await.unwrap();
        broker.state.lock().delay = Duration::from_millis(400);
        let err = client.list_topics().await.unwrap_err();
        assert!(matches!(err, ClientError::Timeout { .. }), "{err}");
        assert!(err.is_retriable());
        // The late answer is dropped and the connection stays usable.
        broker.state.lock().delay = Duration::ZERO;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(client.list_topics().await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn connect_failure_is_typed() {
    bounded(async {
        // Bind and drop to get a port with nothing listening.
        let addr = {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap().to_string()
        };
        let err = Client::connect(&addr).await.unwrap_err();
        assert!(matches!(err, ClientError::Connect { .. }), "{err}");
    })
    .await;
}
