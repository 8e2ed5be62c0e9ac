//! Group membership over the native protocol: JoinGroup with the
//! MEMBER_ID_REQUIRED round, SyncGroup, Heartbeat and LeaveGroup; commits
//! checked against the member and its generation (a stale generation is
//! refused and changes nothing); and a native member and a Kafka member in
//! one generation of one group.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bytes::Bytes;
use common::kafka::*;
use common::*;
use sluice_kafka::api::join_group::{JoinGroupProtocol, JoinGroupRequest};
use sluice_kafka::api::sync_group::SyncGroupRequest;
use sluice_protocol::consumer_protocol::{Assignment, Subscription, TopicPartitions};
use sluice_protocol::{ErrorCode, pb};

const GROUP: &str = "g";

fn join(member_id: &str, topics: &[&str]) -> pb::JoinGroupRequest {
    pb::JoinGroupRequest {
        group: GROUP.into(),
        member_id: member_id.into(),
        protocol_type: "consumer".into(),
        protocols: vec![pb::GroupProtocol {
            name: "range".into(),
            metadata: Bytes::from(Subscription::new(topics.iter().copied()).encode().unwrap()),
        }],
        session_timeout_ms: 30_000,
        rebalance_timeout_ms: 10_000,
    }
}

/// The MEMBER_ID_REQUIRED round: the id to join with.
async fn member_id(client: &mut Client) -> String {
    let first = client.call(&join("", &["t"])).await;
    assert_eq!(code(first.error_code), ErrorCode::MemberIdRequired);
    assert!(first.member_id.starts_with("test-"), "{first:?}");
    first.member_id
}

fn sync(
    member_id: &str,
    generation_id: i32,
    assignments: Vec<(&str, Bytes)>,
) -> pb::SyncGroupRequest {
    pb::SyncGroupRequest {
        group: GROUP.into(),
        member_id: member_id.into(),
        generation_id,
        assignments: assignments
            .into_iter()
            .map(|(m, a)| pb::SyncGroupAssignment {
                member_id: m.into(),
                assignment: a,
            })
            .collect(),
    }
}

fn heartbeat(member_id: &str, generation_id: i32) -> pb::HeartbeatRequest {
    pb::HeartbeatRequest {
        group: GROUP.into(),
        member_id: member_id.into(),
        generation_id,
    }
}

fn assignment(partitions: &[u32]) -> Bytes {
    Bytes::from(
        Assignment::new(vec![TopicPartitions::new("t", partitions)])
            .encode()
            .unwrap(),
    )
}

fn commit(member_id: &str, generation_id: Option<i32>, offset: i64) -> pb::CommitOffsetsRequest {
    pb::CommitOffsetsRequest {
        group: GROUP.into(),
        partitions: vec![pb::CommitOffsetsPartition {
            topic: "t".into(),
            partition: 0,
            offset,
            metadata: String::new(),
        }],
        member_id: member_id.into(),
        generation_id,
    }
}

async fn committed(client: &mut Client) -> i64 {
    let response = client
        .call(&pb::FetchOffsetsRequest {
            group: GROUP.into(),
            partitions: vec![pb::TopicPartition {
                topic: "t".into(),
                partition: 0,
            }],
        })
        .await;
    response.partitions[0].offset
}

/// Heartbeats until the answer is not NONE (the group noticed a join
/// sent on another connection); that answer.
async fn heartbeat_until_refused(
    client: &mut Client,
    member_id: &str,
    generation: i32,
) -> pb::HeartbeatResponse {
    // Polled: the rebalance is only observable through a member's answers.
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let answer = client.call(&heartbeat(member_id, generation)).await;
        if code(answer.error_code) != ErrorCode::None {
            return answer;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the group never asked {member_id} to rejoin within {PATIENCE:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// How long a test waits for the group to get somewhere: generous, for a loaded machine.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// One native member alone: joined and synced. Returns (member, generation).
async fn join_alone(client: &mut Client) -> (String, i32) {
    let id = member_id(client).await;
    let joined = client.call(&join(&id, &["t"])).await;
    assert_eq!(code(joined.error_code), ErrorCode::None, "{joined:?}");
    assert_eq!(joined.leader, id);
    assert_eq!(joined.members.len(), 1);
    let synced = client
        .call(&sync(
            &id,
            joined.generation_id,
            vec![(&id, assignment(&[0, 1]))],
        ))
        .await;
    assert_eq!(code(synced.error_code), ErrorCode::None);
    assert_eq!(synced.assignment, assignment(&[0, 1]));
    (id, joined.generation_id)
}

#[tokio::test]
async fn join_sync_heartbeat_and_leave() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, _) = start_kafka(dir.path()).await;
    let mut a = Client::connect(broker.local_addr()).await;
    let mut b = Client::connect(broker.local_addr()).await;
    create_topic(&mut a, "t", 2).await;
    let (id_a, generation) = join_alone(&mut a).await;
    assert_eq!(
        code(a.call(&heartbeat(&id_a, generation)).await.error_code),
        ErrorCode::None
    );

    // b joins: the group rebalances, a learns it from its heartbeat and
    // rejoins; both get the next generation.
    let id_b = member_id(&mut b).await;
    let b_join = b.send(&join(&id_b, &["t"])).await;
    let answer = heartbeat_until_refused(&mut a, &id_a, generation).await;
    assert_eq!(code(answer.error_code), ErrorCode::RebalanceInProgress);
    assert!(!answer.error_message.is_empty());
    let a_joined = a.call(&join(&id_a, &["t"])).await;
    let (b_joined, _) = b.read_as::<pb::JoinGroupResponse>(b_join).await;
    assert_eq!(a_joined.generation_id, generation + 1);
    assert_eq!(b_joined.generation_id, generation + 1);
    assert_eq!(
        (a_joined.leader.as_str(), b_joined.leader.as_str()),
        (id_a.as_str(), id_a.as_str())
    );
    assert_eq!(a_joined.members.len(), 2, "the leader sees every member");
    assert!(b_joined.members.is_empty());
    let next = a_joined.generation_id;

    // The follower's SyncGroup waits for the leader's.
    let b_sync = b.send(&sync(&id_b, next, vec![])).await;
    let a_synced = a
        .call(&sync(
            &id_a,
            next,
            vec![(&id_a, assignment(&[0])), (&id_b, assignment(&[1]))],
        ))
        .await;
    let (b_synced, _) = b.read_as::<pb::SyncGroupResponse>(b_sync).await;
    assert_eq!(a_synced.assignment, assignment(&[0]));
    assert_eq!(b_synced.assignment, assignment(&[1]));

    let described = b
        .call(&pb::DescribeGroupsRequest {
            groups: vec![GROUP.into()],
        })
        .await;
    let group = &described.groups[0];
    assert_eq!((group.state.as_str(), group.generation), ("Stable", next));
    assert_eq!(group.members.len(), 2);
    assert!(group.members.iter().all(|m| m.assignment_decoded));

    // Stale and unknown heartbeats.
    assert_eq!(
        code(b.call(&heartbeat(&id_b, generation)).await.error_code),
        ErrorCode::IllegalGeneration
    );
    assert_eq!(
        code(b.call(&heartbeat("stranger", next)).await.error_code),
        ErrorCode::UnknownMemberId
    );

    // b leaves: a is told to rejoin and, alone, completes the next
    // generation at once.
    let left = b
        .call(&pb::LeaveGroupRequest {
            group: GROUP.into(),
            member_id: id_b.clone(),
        })
        .await;
    assert_eq!(code(left.error_code), ErrorCode::None);
    assert_eq!(
        code(a.call(&heartbeat(&id_a, next)).await.error_code),
        ErrorCode::RebalanceInProgress
    );
    let alone = a.call(&join(&id_a, &["t"])).await;
    assert_eq!((alone.generation_id, alone.members.len()), (next + 1, 1));
    let again = b
        .call(&pb::LeaveGroupRequest {
            group: GROUP.into(),
            member_id: id_b,
        })
        .await;
    assert_eq!(code(again.error_code), ErrorCode::UnknownMemberId);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_joins_get_native_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, _) = start_kafka(dir.path()).await;
    let mut client = Client::connect(broker.local_addr()).await;
    let mut unnamed = join("", &["t"]);
    unnamed.group = String::new();
    assert_eq!(
        code(client.call(&unnamed).await.error_code),
        ErrorCode::InvalidGroup
    );
    let mut short = join("", &["t"]);
    short.session_timeout_ms = 10;
    assert_eq!(
        code(client.call(&short).await.error_code),
        ErrorCode::InvalidSessionTimeout
    );
    let stranger = client.call(&join("nobody", &["t"])).await;
    assert_eq!(code(stranger.error_code), ErrorCode::UnknownMemberId);
    assert_eq!(stranger.generation_id, -1);
    let mut untyped = join("", &["t"]);
    untyped.protocols.clear();
    assert_eq!(
        code(client.call(&untyped).await.error_code),
        ErrorCode::InconsistentGroupProtocol
    );
    assert_eq!(
        code(client.call(&sync("nobody", 1, vec![])).await.error_code),
        ErrorCode::UnknownMemberId
    );
    broker.shutdown().await.unwrap();
}

/// A commit is checked against the member and its generation: a stale
/// generation is refused with ILLEGAL_GENERATION and the committed offset
/// stays as it was.
#[tokio::test]
async fn a_commit_with_a_stale_generation_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, _) = start_kafka(dir.path()).await;
    let mut a = Client::connect(broker.local_addr()).await;
    create_topic(&mut a, "t", 2).await;
    produce_values(&mut a, "t", 0, &[b"a", b"b", b"c", b"d", b"e"]).await;
    let (id, generation) = join_alone(&mut a).await;
    let ok = a.call(&commit(&id, Some(generation), 3)).await;
    assert_eq!(code(ok.error_code), ErrorCode::None, "{ok:?}");
    assert_eq!(committed(&mut a).await, 3);

    // A new generation: the member rejoins (its metadata changed).
    let rejoined = a.call(&join(&id, &["t", "u"])).await;
    assert_eq!(rejoined.generation_id, generation + 1);
    let stale = a.call(&commit(&id, Some(generation), 5)).await;
    assert_eq!(
        code(stale.error_code),
        ErrorCode::IllegalGeneration,
        "{stale:?}"
    );
    assert!(!stale.error_message.is_empty());
    assert_eq!(
        committed(&mut a).await,
        3,
        "a refused commit stores nothing"
    );

    // Waiting for its assignment, the new generation cannot commit yet.
    let early = a.call(&commit(&id, Some(generation + 1), 5)).await;
    assert_eq!(code(early.error_code), ErrorCode::RebalanceInProgress);
    // A consumer outside the membership, or a stranger, cannot either.
    let outsider = a.call(&commit("", None, 5)).await;
    assert_eq!(code(outsider.error_code), ErrorCode::UnknownMemberId);
    let stranger = a.call(&commit("x", Some(generation + 1), 5)).await;
    assert_eq!(code(stranger.error_code), ErrorCode::UnknownMemberId);
    assert_eq!(committed(&mut a).await, 3);

    a.call(&sync(&id, generation + 1, vec![])).await;
    let current = a.call(&commit(&id, Some(generation + 1), 5)).await;
    assert_eq!(code(current.error_code), ErrorCode::None);
    assert_eq!(committed(&mut a).await, 5);

    // Once the group is empty, commits from outside are accepted again.
    a.call(&pb::LeaveGroupRequest {
        group: GROUP.into(),
        member_id: id,
    })
    .await;
    let outside = a.call(&commit("", None, 4)).await;
    assert_eq!(code(outside.error_code), ErrorCode::None);
    assert_eq!(committed(&mut a).await, 4);
    broker.shutdown().await.unwrap();
}

/// A native member and a Kafka member in one group: one generation, one
/// leader, and the leader's assignment reaches both.
#[tokio::test]
async fn native_and_kafka_members_share_a_generation() {
    let dir = tempfile::tempdir().unwrap();
    // The first rebalance waits this long for more members: the Kafka
    // member joins well within it.
    let mut config = kafka_config(dir.path());
    config.group_initial_rebalance_delay_ms = 2_000;
    let broker = sluice_broker::Broker::start(config).await.unwrap();
    let kafka_addr = broker.kafka_addr().unwrap();
    let mut native = Client::connect(broker.local_addr()).await;
    let mut observer = Client::connect(broker.local_addr()).await;
    let mut kafka = KafkaClient::connect(kafka_addr).await;
    create_topic(&mut native, "t", 3).await;
    let native_id = member_id(&mut native).await;
    let native_join = native.send(&join(&native_id, &["t"])).await;
    // The native member is in before the Kafka one asks, so it leads.
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let described = observer
            .call(&pb::DescribeGroupsRequest {
                groups: vec![GROUP.into()],
            })
            .await;
        if described.groups[0].members.len() == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the native member did not join within {PATIENCE:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // A Kafka consumer's JoinGroup v3 (no MEMBER_ID_REQUIRED round), with
    // kafka-python's v0 subscription bytes.
    let mut metadata = vec![0, 0, 0, 0, 0, 1, 0, 1, b't'];
    metadata.extend_from_slice(&[0, 0, 0, 0]);
    kafka
        .send(
            3,
            JoinGroupRequest {
                group_id: GROUP.into(),
                session_timeout_ms: 30_000,
                rebalance_timeout_ms: 10_000,
                member_id: String::new(),
                group_instance_id: None,
                protocol_type: "consumer".into(),
                protocols: vec![JoinGroupProtocol {
                    name: "range".into(),
                    metadata: Bytes::from(metadata),
                }],
            },
        )
        .await;
    let (joined, _) = native.read_as::<pb::JoinGroupResponse>(native_join).await;
    let kafka_joined = expect_response!(kafka.read().await.1, JoinGroup);
    assert_eq!(code(joined.error_code), ErrorCode::None);
    assert_eq!(kafka_joined.error_code, 0);
    assert_eq!(joined.generation_id, kafka_joined.generation_id);
    assert_eq!(joined.leader, native_id, "the first member leads");
    assert_eq!(kafka_joined.leader, native_id);
    // The native leader reads the Kafka member's subscription.
    let kafka_member = joined
        .members
        .iter()
        .find(|m| m.member_id == kafka_joined.member_id)
        .expect("the Kafka member is in the leader's list");
    assert_eq!(
        Subscription::decode(&kafka_member.metadata).unwrap().topics,
        ["t"]
    );

    let generation = joined.generation_id;
    let kafka_id = kafka_joined.member_id.clone();
    kafka
        .send(
            3,
            SyncGroupRequest {
                group_id: GROUP.into(),
                generation_id: generation,
                member_id: kafka_id.clone(),
                group_instance_id: None,
                assignments: vec![],
            },
        )
        .await;
    let synced = native
        .call(&sync(
            &native_id,
            generation,
            vec![
                (&native_id, assignment(&[0, 1])),
                (&kafka_id, assignment(&[2])),
            ],
        ))
        .await;
    assert_eq!(synced.assignment, assignment(&[0, 1]));
    let kafka_synced = expect_response!(kafka.read().await.1, SyncGroup);
    assert_eq!(kafka_synced.error_code, 0);
    assert_eq!(
        Assignment::decode(&kafka_synced.assignment)
            .unwrap()
            .pairs(),
        [("t".to_owned(), 2)]
    );

    let described = native
        .call(&pb::DescribeGroupsRequest {
            groups: vec![GROUP.into()],
        })
        .await;
    let members: Vec<(&str, Vec<u32>)> = described.groups[0]
        .members
        .iter()
        .map(|m| {
            (
                m.member_id.as_str(),
                m.assigned_partitions.iter().map(|p| p.partition).collect(),
            )
        })
        .collect();
    assert_eq!(members.len(), 2);
    assert!(members.contains(&(native_id.as_str(), vec![0, 1])));
    assert!(members.contains(&(kafka_id.as_str(), vec![2])));
    broker.shutdown().await.unwrap();
}
