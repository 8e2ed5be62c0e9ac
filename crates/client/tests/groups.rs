//! Subscribed consumers as members of a group, against the real broker:
//! two members split a topic's partitions (every record read by exactly
//! one of them) and the one left takes over when the other leaves; a
//! commit in a stale generation is refused and changes nothing; a native
//! consumer and a Kafka consumer (driven with the Kafka codec) are members
//! of one generation and split the partitions.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod broker;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use broker::*;
use bytes::Bytes;
use sluice_client::{
    Client, ClientError, Consumer, ConsumerConfig, ErrorCode, GroupGeneration, OffsetReset,
    TopicConfig, TopicPartition,
};
use sluice_kafka::Response;
use sluice_kafka::api::join_group::{JoinGroupProtocol, JoinGroupRequest};
use sluice_kafka::api::sync_group::SyncGroupRequest;
use sluice_protocol::consumer_protocol::Assignment;
use tokio::sync::{mpsc, oneshot};

const GROUP: &str = "g";
const TOPIC: &str = "t";

fn member_config() -> ConsumerConfig {
    ConsumerConfig {
        group_id: Some(GROUP.into()),
        auto_offset_reset: OffsetReset::Earliest,
        // Commits are made by the member loop after each poll.
        auto_commit_interval: None,
        // The smallest the broker accepts: heartbeats every 2 s, so a
        // member notices a rebalance quickly.
        session_timeout: Duration::from_secs(6),
        fetch_max_wait: Duration::from_millis(100),
        ..ConsumerConfig::default()
    }
}

/// What a member loop reports after each poll.
#[derive(Debug)]
struct Report {
    member: &'static str,
    generation: Option<GroupGeneration>,
    assignment: Vec<TopicPartition>,
    /// (partition, offset, value) of the records the poll returned.
    records: Vec<(u32, i64, String)>,
}

/// A consumer polling (and committing after every poll) in its own task,
/// as an application would, until told to stop; then it closes (leaves).
fn spawn_member(
    name: &'static str,
    client: &Client,
    reports: mpsc::UnboundedSender<Report>,
) -> oneshot::Sender<()> {
    let (stop, mut stopped) = oneshot::channel();
    let mut consumer = Consumer::new(client.clone(), member_config());
    tokio::spawn(async move {
        consumer.subscribe(&[TOPIC]).await.unwrap();
        loop {
            let records = tokio::select! {
                _ = &mut stopped => break,
                polled = consumer.poll(Duration::from_millis(200)) => polled.unwrap(),
            };
            if !records.is_empty() {
                match consumer.commit().await {
                    Ok(()) => {}
                    Err(e) if e.is_rebalance() => {}
                    Err(e) => panic!("{name}: commit: {e}"),
                }
            }
            let report = Report {
                member: name,
                generation: consumer.group_generation().cloned(),
                assignment: consumer.assignment(),
                records: records
                    .iter()
                    .map(|r| {
                        let value = String::from_utf8_lossy(r.value.as_deref().unwrap_or_default());
                        (r.partition, r.offset, value.into_owned())
                    })
                    .collect(),
            };
            if reports.send(report).is_err() {
                break;
            }
        }
        consumer.close().await.unwrap();
    });
    stop
}

/// The members' latest reports, and every record read, by member.
#[derive(Debug, Default)]
struct View {
    latest: BTreeMap<&'static str, (Option<GroupGeneration>, Vec<TopicPartition>)>,
    read: BTreeMap<&'static str, Vec<(u32, i64, String)>>,
}

impl View {
    fn take(&mut self, reports: &mut mpsc::UnboundedReceiver<Report>) {
        while let Ok(report) = reports.try_recv() {
            self.latest
                .insert(report.member, (report.generation, report.assignment));
            self.read
                .entry(report.member)
                .or_default()
                .extend(report.records);
        }
    }

    fn all_read(&self) -> Vec<&(u32, i64, String)> {
        self.read.values().flatten().collect()
    }
}

fn partitions(assignment: &[TopicPartition]) -> BTreeSet<u32> {
    assignment.iter().map(|tp| tp.partition).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_split_the_partitions_and_one_takes_over_when_the_other_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path(), 200).await;
    let client = Client::connect(broker.local_addr().to_string())
        .await
        .unwrap();
    client
        .create_topic(TOPIC, 3, TopicConfig::default())
        .await
        .unwrap();
    let (tx, mut reports) = mpsc::unbounded_channel();
    let stop_a = spawn_member("a", &client, tx.clone());
    let stop_b = spawn_member("b", &client, tx);
    let mut view = View::default();

    // Both members in one generation, holding disjoint shares of the
    // three partitions.
    let generation = eventually("a stable two-member split", || {
        view.take(&mut reports);
        let result = match (view.latest.get("a"), view.latest.get("b")) {
            (Some((Some(ga), pa)), Some((Some(gb), pb)))
                if ga.generation_id == gb.generation_id
                    && !pa.is_empty()
                    && !pb.is_empty()
                    && partitions(pa).is_disjoint(&partitions(pb))
                    && partitions(pa).len() + partitions(pb).len() == 3 =>
            {
                Some(ga.clone())
            }
            _ => None,
        };
        std::future::ready(result)
    })
    .await;
    let described = client.describe_group(GROUP).await.unwrap();
    assert_eq!(described.members.len(), 2);
    assert_eq!(described.generation, generation.generation_id);

    // Every record is read by exactly one member, the one holding its
    // partition.
    produce(&client, TOPIC, 3, "first", 10).await;
    eventually("the first 30 records read", || {
        view.take(&mut reports);
        std::future::ready((view.all_read().len() >= 30).then_some(()))
    })
    .await;
    let read = view.all_read();
    let unique: BTreeSet<_> = read.iter().map(|(p, o, _)| (*p, *o)).collect();
    assert_eq!((read.len(), unique.len()), (30, 30), "no record twice");
    let by_a: BTreeSet<u32> = view.read["a"].iter().map(|r| r.0).collect();
    let by_b: BTreeSet<u32> = view.read["b"].iter().map(|r| r.0).collect();
    assert!(by_a.is_disjoint(&by_b), "a read {by_a:?}, b read {by_b:?}");
    assert_eq!(by_a.len() + by_b.len(), 3);

    // A commit in an older generation is refused and stores nothing.
    let before = client
        .fetch_offsets(GROUP, &[TopicPartition::new(TOPIC, 0)])
        .await
        .unwrap();
    assert_eq!(
        before[0].offset,
        Some(10),
        "members committed what they read"
    );
    let stale = GroupGeneration {
        generation_id: generation.generation_id - 1,
        ..generation.clone()
    };
    let refused = client
        .commit_offsets_as(GROUP, &stale, &[(TopicPartition::new(TOPIC, 0), 1)])
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Some(ErrorCode::IllegalGeneration),
        "{refused}"
    );
    assert!(refused.is_rebalance());
    // And so is one from outside the membership, while the group has members.
    let outsider = client
        .commit_offsets(GROUP, &[(TopicPartition::new(TOPIC, 0), 1)])
        .await
        .unwrap_err();
    assert_eq!(outsider.code(), Some(ErrorCode::UnknownMemberId));
    let after = client
        .fetch_offsets(GROUP, &[TopicPartition::new(TOPIC, 0)])
        .await
        .unwrap();
    assert_eq!(after[0].offset, Some(10));

    // b leaves: a takes every partition and reads what comes next.
    stop_b.send(()).unwrap();
    eventually("a holding all three partitions", || {
        view.take(&mut reports);
        let result = match view.latest.get("a") {
            Some((Some(g), p)) if g.generation_id > generation.generation_id && p.len() == 3 => {
                Some(())
            }
            _ => None,
        };
        std::future::ready(result)
    })
    .await;
    let described = client.describe_group(GROUP).await.unwrap();
    assert_eq!(described.members.len(), 1);
    produce(&client, TOPIC, 3, "second", 5).await;
    eventually("the next 15 records read by a", || {
        view.take(&mut reports);
        let new = view.read["a"]
            .iter()
            .filter(|r| r.2.starts_with("second"))
            .count();
        std::future::ready((new >= 15).then_some(()))
    })
    .await;
    let read = view.all_read();
    let unique: BTreeSet<_> = read.iter().map(|(p, o, _)| (*p, *o)).collect();
    assert_eq!((read.len(), unique.len()), (45, 45), "no record twice");

    // a leaves too: the group is empty and its commits cover everything.
    stop_a.send(()).unwrap();
    eventually("an empty group", || {
        let client = client.clone();
        async move {
            let g = client.describe_group(GROUP).await.unwrap();
            g.members.is_empty().then_some(g)
        }
    })
    .await;
    let committed = client.fetch_offsets(GROUP, &[]).await.unwrap();
    let offsets: Vec<Option<i64>> = committed.iter().map(|c| c.offset).collect();
    assert_eq!(offsets, [Some(15), Some(15), Some(15)]);
    broker.shutdown().await.unwrap();
}

/// A native consumer leads a group that a Kafka consumer joins: both are
/// members of one generation, and the native leader's range assignment
/// (read from the Kafka member's subscription bytes) splits the partitions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_consumer_and_a_kafka_consumer_share_a_group() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path(), 200).await;
    let kafka_addr = broker.kafka_addr().unwrap();
    let client = Client::connect(broker.local_addr().to_string())
        .await
        .unwrap();
    client
        .create_topic(TOPIC, 3, TopicConfig::default())
        .await
        .unwrap();
    let mut native = Consumer::new(client.clone(), member_config());
    native.subscribe(&[TOPIC]).await.unwrap();
    // Alone, it holds every partition.
    while native.assignment().len() < 3 {
        native.poll(Duration::from_millis(100)).await.unwrap();
    }
    let first = native.group_generation().cloned().unwrap();

    // The Kafka member: JoinGroup v5 (with the MEMBER_ID_REQUIRED round)
    // carrying kafka-python's v0 subscription, then SyncGroup v3.
    let (joined_tx, joined_rx) = oneshot::channel();
    tokio::spawn(async move {
        let mut kafka = KafkaClient::connect(kafka_addr).await;
        let join = |member_id: &str| JoinGroupRequest {
            group_id: GROUP.into(),
            session_timeout_ms: 30_000,
            rebalance_timeout_ms: 30_000,
            member_id: member_id.into(),
            group_instance_id: None,
            protocol_type: "consumer".into(),
            protocols: vec![JoinGroupProtocol {
                name: "range".into(),
                metadata: Bytes::from_static(&[0, 0, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 0]),
            }],
        };
        let Response::JoinGroup(first) = kafka.call(5, join("")).await else {
            panic!("not a JoinGroup response");
        };
        assert_eq!(first.error_code, 79, "MEMBER_ID_REQUIRED");
        let Response::JoinGroup(joined) = kafka.call(5, join(&first.member_id)).await else {
            panic!("not a JoinGroup response");
        };
        assert_eq!(joined.error_code, 0);
        let sync = SyncGroupRequest {
            group_id: GROUP.into(),
            generation_id: joined.generation_id,
            member_id: joined.member_id.clone(),
            group_instance_id: None,
            assignments: vec![],
        };
        let Response::SyncGroup(synced) = kafka.call(3, sync).await else {
            panic!("not a SyncGroup response");
        };
        assert_eq!(synced.error_code, 0);
        let assignment = Assignment::decode(&synced.assignment).unwrap();
        let _ = joined_tx.send((joined, assignment, kafka));
    });

    // The native member notices the rebalance from its heartbeat, rejoins
    // at its next poll and, as leader, assigns both members.
    let mut joined_rx = joined_rx;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let (kafka_joined, kafka_assignment, _kafka_conn) = loop {
        native.poll(Duration::from_millis(100)).await.unwrap();
        if let Ok(joined) = joined_rx.try_recv() {
            break joined;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the Kafka member did not sync within {PATIENCE:?}"
        );
    };
    let native_generation = native.group_generation().cloned().unwrap();
    assert_eq!(native_generation.generation_id, kafka_joined.generation_id);
    assert!(native_generation.generation_id > first.generation_id);
    assert_eq!(
        kafka_joined.leader, native_generation.member_id,
        "the native member leads"
    );
    let mine = partitions(&native.assignment());
    let theirs: BTreeSet<u32> = kafka_assignment
        .pairs()
        .into_iter()
        .map(|(topic, p)| {
            assert_eq!(topic, TOPIC);
            p
        })
        .collect();
    assert!(
        mine.is_disjoint(&theirs),
        "native {mine:?}, kafka {theirs:?}"
    );
    assert_eq!(mine.len() + theirs.len(), 3);
    assert!(
        !mine.is_empty() && !theirs.is_empty(),
        "range gives each member a share"
    );

    let described = client.describe_group(GROUP).await.unwrap();
    assert_eq!(described.state, "Stable");
    assert_eq!(described.members.len(), 2);

    // Leaving: the native member's LeaveGroup rebalances the group.
    native.close().await.unwrap();
    let described = client.describe_group(GROUP).await.unwrap();
    assert_ne!(described.state, "Stable");
    assert!(matches!(
        client
            .commit_offsets(GROUP, &[(TopicPartition::new(TOPIC, 0), 1)])
            .await,
        Err(ClientError::Broker {
            code: ErrorCode::UnknownMemberId,
            ..
        })
    ));
    broker.shutdown().await.unwrap();
}
