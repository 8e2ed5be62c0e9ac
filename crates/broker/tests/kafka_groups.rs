//! Kafka consumer groups through the listener: join with MEMBER_ID_REQUIRED,
//! the leader's view, SyncGroup passing the assignment, rebalances on leave
//! and on session expiry, and committed offsets shared with the native
//! protocol.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::kafka::*;
use common::*;
use sluice_kafka::ErrorCode;
use sluice_kafka::api::describe_groups::DescribeGroupsRequest;
use sluice_kafka::api::heartbeat::HeartbeatRequest;
use sluice_kafka::api::join_group::{JoinGroupProtocol, JoinGroupRequest, JoinGroupResponse};
use sluice_kafka::api::leave_group::{LeaveGroupMember, LeaveGroupRequest};
use sluice_kafka::api::list_groups::ListGroupsRequest;
use sluice_kafka::api::offset_commit::{
    OffsetCommitPartition, OffsetCommitRequest, OffsetCommitTopic,
};
use sluice_kafka::api::offset_fetch::{OffsetFetchRequest, OffsetFetchTopic};
use sluice_kafka::api::sync_group::{SyncGroupAssignment, SyncGroupRequest};
use sluice_protocol::pb;

const GROUP: &str = "g";

fn join_request(
    member_id: &str,
    metadata: &'static [u8],
    session_timeout_ms: i32,
) -> JoinGroupRequest {
    JoinGroupRequest {
        group_id: GROUP.into(),
        session_timeout_ms,
        rebalance_timeout_ms: 10_000,
        member_id: member_id.into(),
        group_instance_id: None,
        protocol_type: "consumer".into(),
        protocols: vec![JoinGroupProtocol {
            name: "range".into(),
            metadata: Bytes::from_static(metadata),
        }],
    }
}

/// JoinGroup v5: the first answer is MEMBER_ID_REQUIRED with the id to use.
async fn member_id(client: &mut KafkaClient) -> String {
    let response = expect_response!(client.call(5, join_request("", b"", 6000)).await, JoinGroup);
    assert_eq!(response.error_code, ErrorCode::MEMBER_ID_REQUIRED);
    assert!(response.member_id.starts_with("test-"));
    response.member_id
}

async fn read_join(client: &mut KafkaClient) -> JoinGroupResponse {
    expect_response!(client.read().await.1, JoinGroup)
}

async fn heartbeat(client: &mut KafkaClient, member: &str, generation: i32) -> i16 {
    let request = HeartbeatRequest {
        group_id: GROUP.into(),
        generation_id: generation,
        member_id: member.into(),
        group_instance_id: None,
    };
    expect_response!(client.call(3, request).await, Heartbeat).error_code
}

async fn sync(
    client: &mut KafkaClient,
    member: &str,
    generation: i32,
    assignments: Vec<(&str, &'static [u8])>,
) -> i32 {
    let request = SyncGroupRequest {
        group_id: GROUP.into(),
        generation_id: generation,
        member_id: member.into(),
        group_instance_id: None,
        assignments: assignments
            .into_iter()
            .map(|(m, a)| SyncGroupAssignment {
                member_id: m.into(),
                assignment: Bytes::from_static(a),
            })
            .collect(),
    };
    client.send(3, request).await
}

/// Two members joined and synced; returns (a, b, member a, member b, generation).
async fn stable_pair(
    addr: std::net::SocketAddr,
    session_timeout_ms: i32,
) -> (KafkaClient, KafkaClient, String, String, i32) {
    let mut a = KafkaClient::connect(addr).await;
    let mut b = KafkaClient::connect(addr).await;
    let id_a = member_id(&mut a).await;
    a.send(5, join_request(&id_a, b"meta-a", session_timeout_ms))
        .await;
    // b uses v3: no MEMBER_ID_REQUIRED round.
    b.send(3, join_request("", b"meta-b", session_timeout_ms))
        .await;
    let join_a = read_join(&mut a).await;
    let join_b = read_join(&mut b).await;
    assert_eq!((join_a.error_code, join_b.error_code), (0, 0));
    assert_eq!(join_a.generation_id, join_b.generation_id);
    assert_eq!(join_a.leader, id_a, "the first member leads");
    assert_eq!(join_b.leader, id_a);
    let id_b = join_b.member_id.clone();
    let mut seen: Vec<(String, Bytes)> = join_a
        .members
        .iter()
        .map(|m| (m.member_id.clone(), m.metadata.clone()))
        .collect();
    seen.sort();
    let mut want = vec![
        (id_a.clone(), Bytes::from_static(b"meta-a")),
        (id_b.clone(), Bytes::from_static(b"meta-b")),
    ];
    want.sort();
    assert_eq!(seen, want, "the leader gets every member's metadata");
    assert!(join_b.members.is_empty(), "followers get none");
    assert_eq!(join_a.protocol_name, "range");
    let generation = join_a.generation_id;

    // The follower waits for the leader's assignment.
    sync(&mut b, &id_b, generation, vec![]).await;
    sync(
        &mut a,
        &id_a,
        generation,
        vec![(&id_a, b"for-a"), (&id_b, b"for-b")],
    )
    .await;
    let sync_a = expect_response!(a.read().await.1, SyncGroup);
    let sync_b = expect_response!(b.read().await.1, SyncGroup);
    assert_eq!(
        (sync_a.error_code, &sync_a.assignment[..]),
        (0, &b"for-a"[..])
    );
    assert_eq!(
        (sync_b.error_code, &sync_b.assignment[..]),
        (0, &b"for-b"[..])
    );
    assert_eq!(heartbeat(&mut a, &id_a, generation).await, ErrorCode::NONE);
    assert_eq!(heartbeat(&mut b, &id_b, generation).await, ErrorCode::NONE);
    (a, b, id_a, id_b, generation)
}

#[tokio::test]
async fn join_sync_leave_and_rejoin() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, addr) = start_kafka(dir.path()).await;
    let (mut a, mut b, id_a, id_b, generation) = stable_pair(addr, 10_000).await;
    assert_eq!(
        heartbeat(&mut a, &id_a, generation + 5).await,
        ErrorCode::ILLEGAL_GENERATION
    );
    assert_eq!(
        heartbeat(&mut a, "stranger", generation).await,
        ErrorCode::UNKNOWN_MEMBER_ID
    );

    let describe = expect_response!(
        a.call(
            4,
            DescribeGroupsRequest {
                groups: vec![GROUP.into(), "none".into()],
                ..Default::default()
            }
        )
        .await,
        DescribeGroups
    );
    assert_eq!(describe.groups[0].group_state, "Stable");
    assert_eq!(describe.groups[0].members.len(), 2);
    assert_eq!(describe.groups[1].group_state, "Dead");
    let list = expect_response!(a.call(2, ListGroupsRequest).await, ListGroups);
    assert_eq!(list.groups.len(), 1);
    assert_eq!(list.groups[0].protocol_type, "consumer");

    // b leaves (v3: a members array): a is told to rejoin, and alone it
    // completes the next generation at once.
    let leave = LeaveGroupRequest {
        group_id: GROUP.into(),
        member_id: String::new(),
        members: vec![LeaveGroupMember {
            member_id: id_b.clone(),
            group_instance_id: None,
        }],
    };
    let left = expect_response!(b.call(3, leave).await, LeaveGroup);
    assert_eq!((left.error_code, left.members[0].error_code), (0, 0));
    assert_eq!(
        heartbeat(&mut a, &id_a, generation).await,
        ErrorCode::REBALANCE_IN_PROGRESS
    );
    let rejoined = expect_response!(
        a.call(5, join_request(&id_a, b"meta-a", 10_000)).await,
        JoinGroup
    );
    assert_eq!(rejoined.error_code, 0);
    assert_eq!(rejoined.generation_id, generation + 1);
    assert_eq!(rejoined.members.len(), 1);
    // The left member is gone.
    assert_eq!(
        heartbeat(&mut b, &id_b, generation).await,
        ErrorCode::UNKNOWN_MEMBER_ID
    );
    // v0 LeaveGroup: one member, top-level code.
    let leave = LeaveGroupRequest {
        group_id: GROUP.into(),
        member_id: "ghost".into(),
        members: vec![],
    };
    assert_eq!(
        expect_response!(a.call(0, leave).await, LeaveGroup).error_code,
        ErrorCode::UNKNOWN_MEMBER_ID
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_silent_member_expires_and_the_group_rebalances() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, addr) = start_kafka(dir.path()).await;
    // 6 s is the smallest session timeout a broker accepts.
    let (mut a, _b, id_a, _id_b, generation) = stable_pair(addr, 6000).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut code = ErrorCode::NONE;
    while code == ErrorCode::NONE && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        code = heartbeat(&mut a, &id_a, generation).await;
    }
    assert_eq!(
        code,
        ErrorCode::REBALANCE_IN_PROGRESS,
        "b expired while a kept heartbeating"
    );
    let rejoined = expect_response!(
        a.call(5, join_request(&id_a, b"meta-a", 6000)).await,
        JoinGroup
    );
    assert_eq!((rejoined.error_code, rejoined.members.len()), (0, 1));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_joins_get_kafka_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, addr) = start_kafka(dir.path()).await;
    let mut client = KafkaClient::connect(addr).await;
    let join = expect_response!(client.call(3, join_request("", b"", 10)).await, JoinGroup);
    assert_eq!(join.error_code, ErrorCode::INVALID_SESSION_TIMEOUT);
    let join = expect_response!(
        client.call(3, join_request("nobody", b"", 10_000)).await,
        JoinGroup
    );
    assert_eq!(join.error_code, ErrorCode::UNKNOWN_MEMBER_ID);
    let mut unnamed = join_request("", b"", 10_000);
    unnamed.group_id = String::new();
    let join = expect_response!(client.call(3, unnamed).await, JoinGroup);
    assert_eq!(join.error_code, ErrorCode::INVALID_GROUP_ID);
    let sync = sync(&mut client, "nobody", 1, vec![]).await;
    let _ = sync;
    assert_eq!(
        expect_response!(client.read().await.1, SyncGroup).error_code,
        ErrorCode::UNKNOWN_MEMBER_ID
    );
    broker.shutdown().await.unwrap();
}

fn commit_request(generation: i32, member: &str, offset: i64) -> OffsetCommitRequest {
    OffsetCommitRequest {
        group_id: GROUP.into(),
        generation_id: generation,
        member_id: member.into(),
        topics: vec![OffsetCommitTopic {
            name: "t".into(),
            partitions: vec![OffsetCommitPartition {
                partition_index: 1,
                committed_offset: offset,
                committed_metadata: Some("m".into()),
                ..Default::default()
            }],
        }],
        ..OffsetCommitRequest::default()
    }
}

#[tokio::test]
async fn offsets_are_shared_with_the_native_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, addr) = start_kafka(dir.path()).await;
    let mut kafka = KafkaClient::connect(addr).await;
    let mut native = Client::connect(broker.local_addr()).await;
    create_kafka_topic(&mut kafka, "t", 2).await;

    // Nothing committed: -1, no error.
    let fetch = |topics| OffsetFetchRequest {
        group_id: GROUP.into(),
        topics,
    };
    let one = Some(vec![OffsetFetchTopic {
        name: "t".into(),
        partition_indexes: vec![1],
    }]);
    let response = expect_response!(kafka.call(5, fetch(one.clone())).await, OffsetFetch);
    assert_eq!(
        (
            response.error_code,
            response.topics[0].partitions[0].committed_offset
        ),
        (0, -1)
    );

    // The assign() path: generation -1, no member, no group.
    let commit = expect_response!(
        kafka.call(7, commit_request(-1, "", 42)).await,
        OffsetCommit
    );
    assert_eq!(commit.topics[0].partitions[0].error_code, 0);
    let native_view = native
        .call(&pb::FetchOffsetsRequest {
            group: GROUP.into(),
            partitions: vec![pb::TopicPartition {
                topic: "t".into(),
                partition: 1,
            }],
        })
        .await;
    assert_eq!(native_view.partitions[0].offset, 42);
    assert_eq!(native_view.partitions[0].metadata, "m");

    // And the other way round.
    let committed = native
        .call(&pb::CommitOffsetsRequest {
            group: GROUP.into(),
            partitions: vec![pb::CommitOffsetsPartition {
                topic: "t".into(),
                partition: 0,
                offset: 7,
                metadata: String::new(),
            }],
            ..Default::default()
        })
        .await;
    assert_eq!(committed.partitions[0].error_code, 0);
    let all = expect_response!(kafka.call(5, fetch(None)).await, OffsetFetch);
    let offsets: Vec<(i32, i64)> = all.topics[0]
        .partitions
        .iter()
        .map(|p| (p.partition_index, p.committed_offset))
        .collect();
    assert_eq!(offsets, [(0, 7), (1, 42)]);

    // Members of a live group must commit with their generation.
    let (mut a, _b, id_a, _id_b, generation) = stable_pair(addr, 10_000).await;
    let wrong = expect_response!(
        a.call(7, commit_request(generation + 1, &id_a, 1)).await,
        OffsetCommit
    );
    assert_eq!(
        wrong.topics[0].partitions[0].error_code,
        ErrorCode::ILLEGAL_GENERATION
    );
    let stranger = expect_response!(
        a.call(7, commit_request(generation, "x", 1)).await,
        OffsetCommit
    );
    assert_eq!(
        stranger.topics[0].partitions[0].error_code,
        ErrorCode::UNKNOWN_MEMBER_ID
    );
    let outsider = expect_response!(a.call(7, commit_request(-1, "", 1)).await, OffsetCommit);
    assert_eq!(
        outsider.topics[0].partitions[0].error_code,
        ErrorCode::UNKNOWN_MEMBER_ID
    );
    let ok = expect_response!(
        a.call(2, commit_request(generation, &id_a, 50)).await,
        OffsetCommit
    );
    assert_eq!(ok.topics[0].partitions[0].error_code, 0);
    let response = expect_response!(kafka.call(1, fetch(one)).await, OffsetFetch);
    assert_eq!(response.topics[0].partitions[0].committed_offset, 50);
    broker.shutdown().await.unwrap();
}
