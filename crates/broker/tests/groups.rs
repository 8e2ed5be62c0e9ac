//! Native ListGroups and DescribeGroups: groups that only committed
//! offsets, Kafka consumer groups with their members and decoded
//! assignments, committed offsets against high watermarks, and the errors.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bytes::Bytes;
use common::kafka::*;
use common::*;
use sluice_broker::group::assignment::encode_consumer_assignment;
use sluice_kafka::api::join_group::{JoinGroupProtocol, JoinGroupRequest};
use sluice_kafka::api::offset_commit::{
    OffsetCommitPartition, OffsetCommitRequest, OffsetCommitTopic,
};
use sluice_kafka::api::sync_group::{SyncGroupAssignment, SyncGroupRequest};
use sluice_protocol::{ErrorCode, pb};

fn commit(group: &str, topic: &str, partition: u32, offset: i64) -> pb::CommitOffsetsRequest {
    pb::CommitOffsetsRequest {
        group: group.into(),
        partitions: vec![pb::CommitOffsetsPartition {
            topic: topic.into(),
            partition,
            offset,
            metadata: "m".into(),
        }],
        ..Default::default()
    }
}

async fn describe(client: &mut Client, groups: &[&str]) -> Vec<pb::GroupDescription> {
    let response = client
        .call(&pb::DescribeGroupsRequest {
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        })
        .await;
    assert_eq!(code(response.error_code), ErrorCode::None);
    response.groups
}

/// Joins `group` through the Kafka listener as its only member (JoinGroup
/// v5 with the MEMBER_ID_REQUIRED round), syncs `assignment` for itself
/// and returns (member id, generation). The connection is returned so the
/// member stays as long as the test needs it.
async fn join_alone(
    addr: std::net::SocketAddr,
    group: &str,
    assignment: Bytes,
) -> (KafkaClient, String, i32) {
    let mut kafka = KafkaClient::connect(addr).await;
    let join = |member_id: &str| JoinGroupRequest {
        group_id: group.into(),
        session_timeout_ms: 30_000,
        rebalance_timeout_ms: 10_000,
        member_id: member_id.into(),
        group_instance_id: None,
        protocol_type: "consumer".into(),
        protocols: vec![JoinGroupProtocol {
            name: "range".into(),
            metadata: Bytes::from_static(b"subscription"),
        }],
    };
    let first = expect_response!(kafka.call(5, join("")).await, JoinGroup);
    assert_eq!(
        first.error_code,
        sluice_kafka::ErrorCode::MEMBER_ID_REQUIRED
    );
    let joined = expect_response!(kafka.call(5, join(&first.member_id)).await, JoinGroup);
    assert_eq!(joined.error_code, 0);
    let member = joined.member_id;
    let generation = joined.generation_id;
    let sync = SyncGroupRequest {
        group_id: group.into(),
        generation_id: generation,
        member_id: member.clone(),
        group_instance_id: None,
        assignments: vec![SyncGroupAssignment {
            member_id: member.clone(),
            assignment,
        }],
    };
    let synced = expect_response!(kafka.call(3, sync).await, SyncGroup);
    assert_eq!(synced.error_code, 0);
    (kafka, member, generation)
}

#[tokio::test]
async fn groups_with_only_committed_offsets_are_listed_empty() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut client = Client::connect(broker.local_addr()).await;
    create_topic(&mut client, "t", 2).await;
    create_topic(&mut client, "gone", 1).await;
    produce_values(&mut client, "t", 0, &[b"a", b"b", b"c", b"d", b"e"]).await;
    for (topic, partition, offset) in [("t", 0, 3), ("t", 1, 0), ("gone", 0, 0)] {
        let response = client
            .call(&commit("native", topic, partition, offset))
            .await;
        assert_eq!(code(response.partitions[0].error_code), ErrorCode::None);
    }
    client.call(&commit("other", "t", 0, 5)).await;
    let deleted = client
        .call(&pb::DeleteTopicRequest {
            name: "gone".into(),
        })
        .await;
    assert_eq!(code(deleted.error_code), ErrorCode::None);

    let listed = client.call(&pb::ListGroupsRequest {}).await;
    assert_eq!(code(listed.error_code), ErrorCode::None);
    let names: Vec<(&str, &str, u32)> = listed
        .groups
        .iter()
        .map(|g| (g.group.as_str(), g.state.as_str(), g.members))
        .collect();
    assert_eq!(names, [("native", "Empty", 0), ("other", "Empty", 0)]);

    let groups = describe(&mut client, &["native", "nosuch", ""]).await;
    let native = &groups[0];
    assert_eq!(code(native.error_code), ErrorCode::None);
    assert_eq!((native.state.as_str(), native.generation), ("Empty", 0));
    assert!(native.members.is_empty());
    let rows: Vec<(&str, u32, i64, i64, ErrorCode)> = native
        .offsets
        .iter()
        .map(|o| {
            (
                o.topic.as_str(),
                o.partition,
                o.committed_offset,
                o.high_watermark,
                code(o.error_code),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            // The commit for "gone" was deleted with its topic.
            ("t", 0, 3, 5, ErrorCode::None),
            ("t", 1, 0, 0, ErrorCode::None),
        ]
    );
    assert_eq!(native.offsets[0].metadata, "m");
    assert_eq!(code(groups[1].error_code), ErrorCode::GroupIdNotFound);
    assert_eq!(groups[1].group, "nosuch");
    assert_eq!(code(groups[2].error_code), ErrorCode::InvalidGroup);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn kafka_group_members_assignments_and_lag() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, addr) = start_kafka(dir.path()).await;
    let mut client = Client::connect(broker.local_addr()).await;
    create_topic(&mut client, "t", 2).await;
    produce_values(&mut client, "t", 0, &[b"a", b"b", b"c", b"d", b"e"]).await;
    produce_values(&mut client, "t", 1, &[b"f", b"g"]).await;

    let assignment = Bytes::from(encode_consumer_assignment(&[("t", &[1, 0])]));
    let (mut kafka, member, generation) = join_alone(addr, "app", assignment.clone()).await;
    let commit = OffsetCommitRequest {
        group_id: "app".into(),
        generation_id: generation,
        member_id: member.clone(),
        topics: vec![OffsetCommitTopic {
            name: "t".into(),
            partitions: vec![OffsetCommitPartition {
                partition_index: 0,
                committed_offset: 2,
                ..Default::default()
            }],
        }],
        ..OffsetCommitRequest::default()
    };
    let committed = expect_response!(kafka.call(7, commit).await, OffsetCommit);
    assert_eq!(committed.topics[0].partitions[0].error_code, 0);

    let listed = client.call(&pb::ListGroupsRequest {}).await;
    assert_eq!(listed.groups.len(), 1);
    let g = &listed.groups[0];
    assert_eq!(
        (
            g.group.as_str(),
            g.state.as_str(),
            g.protocol_type.as_str(),
            g.members
        ),
        ("app", "Stable", "consumer", 1)
    );

    let groups = describe(&mut client, &["app"]).await;
    let app = &groups[0];
    assert_eq!(code(app.error_code), ErrorCode::None);
    assert_eq!(app.state, "Stable");
    assert_eq!(
        (app.protocol_type.as_str(), app.protocol.as_str()),
        ("consumer", "range")
    );
    assert_eq!(app.generation, generation);
    assert_eq!(app.members.len(), 1);
    let m = &app.members[0];
    assert_eq!(m.member_id, member);
    assert_eq!(m.client_id, "test");
    assert!(m.client_host.contains("127.0.0.1"), "{}", m.client_host);
    assert_eq!(m.assignment, assignment);
    assert!(m.assignment_decoded);
    let assigned: Vec<(&str, u32)> = m
        .assigned_partitions
        .iter()
        .map(|tp| (tp.topic.as_str(), tp.partition))
        .collect();
    assert_eq!(assigned, [("t", 0), ("t", 1)]);
    // Partition 0: committed 2 of 5 (lag 3); partition 1 assigned but
    // never committed.
    let rows: Vec<(u32, i64, i64, &str)> = app
        .offsets
        .iter()
        .map(|o| {
            (
                o.partition,
                o.committed_offset,
                o.high_watermark,
                o.member_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [(0, 2, 5, member.as_str()), (1, -1, 2, member.as_str())]
    );
    drop(kafka);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_assignment_that_is_not_a_consumer_one_is_kept_raw() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, addr) = start_kafka(dir.path()).await;
    let mut client = Client::connect(broker.local_addr()).await;
    let raw = Bytes::from_static(b"\x00\x00\x7f\xff\xff\xffnot a consumer assignment");
    let (kafka, member, _) = join_alone(addr, "odd", raw.clone()).await;

    let groups = describe(&mut client, &["odd"]).await;
    let odd = &groups[0];
    assert_eq!(odd.state, "Stable");
    let m = &odd.members[0];
    assert_eq!(m.member_id, member);
    assert!(!m.assignment_decoded);
    assert!(m.assigned_partitions.is_empty());
    assert_eq!(m.assignment, raw);
    assert!(odd.offsets.is_empty());
    drop(kafka);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn undecodable_requests_get_invalid_request() {
    use bytes::{BufMut, BytesMut};
    use tokio::io::AsyncWriteExt;

    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let mut client = Client::connect(broker.local_addr()).await;
    // DescribeGroups whose field 1 (repeated string) comes as a varint.
    let mut frame = BytesMut::new();
    frame.put_u32(10 + 2);
    frame.put_u16(sluice_protocol::ApiKey::DescribeGroups.as_u16());
    frame.put_u16(0);
    frame.put_u32(77);
    frame.put_u16(0);
    frame.put_slice(&[0x08, 0x01]);
    client.stream.write_all(&frame).await.unwrap();
    let (response, _) = client.read_as::<pb::DescribeGroupsResponse>(77).await;
    assert_eq!(code(response.error_code), ErrorCode::InvalidRequest);
    // The connection is still good.
    let listed = client.call(&pb::ListGroupsRequest {}).await;
    assert_eq!(code(listed.error_code), ErrorCode::None);
    broker.shutdown().await.unwrap();
}
