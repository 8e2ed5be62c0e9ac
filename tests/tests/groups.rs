//! `sluice group list` and `sluice group describe` against the real
//! broker with its Kafka listener on: a consumer group member joined over
//! the Kafka protocol (its assignment, committed offset and lag), a group
//! that only committed offsets through `sluice consume --group`, and a
//! group that does not exist.
// Test code: a failed expectation is a failed test, with its message.
#![allow(clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::Bytes;
use sluice_e2e::{Broker, BrokerOptions, STEP_TIMEOUT};
use sluice_kafka::api::join_group::{JoinGroupProtocol, JoinGroupRequest};
use sluice_kafka::api::offset_commit::{
    OffsetCommitPartition, OffsetCommitRequest, OffsetCommitTopic,
};
use sluice_kafka::api::sync_group::{SyncGroupAssignment, SyncGroupRequest};
use sluice_kafka::{Request, RequestHeader, Response, ResponseHeader, response_header_version};

/// A blocking Kafka connection: one request, then its response.
struct Kafka {
    stream: TcpStream,
    next_id: i32,
}

impl Kafka {
    fn connect(addr: SocketAddr) -> Kafka {
        let stream = TcpStream::connect_timeout(&addr, STEP_TIMEOUT).expect("connect to Kafka");
        stream
            .set_read_timeout(Some(STEP_TIMEOUT))
            .expect("set a read timeout");
        Kafka { stream, next_id: 1 }
    }

    fn call(&mut self, version: i16, body: impl Into<Request>) -> Response {
        let body = body.into();
        let api_key = body.api_key().as_i16();
        let header = RequestHeader {
            api_key,
            api_version: version,
            correlation_id: self.next_id,
            client_id: Some("e2e-member".into()),
        };
        self.next_id += 1;
        let frame = sluice_kafka::frame::encode_request_frame(&header, &body);
        self.stream.write_all(&frame).expect("send a Kafka request");
        let mut size = [0u8; 4];
        self.stream
            .read_exact(&mut size)
            .expect("read a response size");
        let size = usize::try_from(i32::from_be_bytes(size)).expect("a positive size");
        let mut frame = vec![0u8; size];
        self.stream.read_exact(&mut frame).expect("read a response");
        let mut frame = Bytes::from(frame);
        let response_header =
            ResponseHeader::decode(&mut frame, response_header_version(api_key, version))
                .expect("a response header");
        assert_eq!(response_header.correlation_id, header.correlation_id);
        Response::decode(api_key, version, frame).expect("a response body")
    }
}

/// A consumer protocol assignment (version 0, no user data) of `topic`'s
/// `partitions`, as a Kafka group leader sends it.
fn consumer_assignment(topic: &str, partitions: &[i32]) -> Bytes {
    let mut out = Vec::new();
    out.extend_from_slice(&0i16.to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes());
    out.extend_from_slice(&i16::try_from(topic.len()).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(topic.as_bytes());
    out.extend_from_slice(&i32::try_from(partitions.len()).unwrap_or(0).to_be_bytes());
    for p in partitions {
        out.extend_from_slice(&p.to_be_bytes());
    }
    out.extend_from_slice(&(-1i32).to_be_bytes());
    Bytes::from(out)
}

/// Joins `group` as its only member (JoinGroup v5 with the
/// MEMBER_ID_REQUIRED round, then SyncGroup as leader) holding every
/// partition of `topic`, and commits `offset` for partition 0. Returns the
/// connection, which must stay open, and the member id.
fn join_and_commit(addr: SocketAddr, group: &str, topic: &str, offset: i64) -> (Kafka, String) {
    let mut kafka = Kafka::connect(addr);
    let join = |member_id: &str| JoinGroupRequest {
        group_id: group.into(),
        // Long enough that no heartbeat is needed during the test.
        session_timeout_ms: 60_000,
        rebalance_timeout_ms: 10_000,
        member_id: member_id.into(),
        group_instance_id: None,
        protocol_type: "consumer".into(),
        protocols: vec![JoinGroupProtocol {
            name: "range".into(),
            metadata: Bytes::from_static(b"\0\0\0\0\0\0\0\0\0\0"),
        }],
    };
    let Response::JoinGroup(first) = kafka.call(5, join("")) else {
        panic!("expected a JoinGroup response");
    };
    let Response::JoinGroup(joined) = kafka.call(5, join(&first.member_id)) else {
        panic!("expected a JoinGroup response");
    };
    assert_eq!(joined.error_code, 0, "join");
    let member = joined.member_id;
    let sync = SyncGroupRequest {
        group_id: group.into(),
        generation_id: joined.generation_id,
        member_id: member.clone(),
        group_instance_id: None,
        assignments: vec![SyncGroupAssignment {
            member_id: member.clone(),
            assignment: consumer_assignment(topic, &[0, 1]),
        }],
    };
    let Response::SyncGroup(synced) = kafka.call(3, sync) else {
        panic!("expected a SyncGroup response");
    };
    assert_eq!(synced.error_code, 0, "sync");
    let commit = OffsetCommitRequest {
        group_id: group.into(),
        generation_id: joined.generation_id,
        member_id: member.clone(),
        topics: vec![OffsetCommitTopic {
            name: topic.into(),
            partitions: vec![OffsetCommitPartition {
                partition_index: 0,
                committed_offset: offset,
                ..Default::default()
            }],
        }],
        ..OffsetCommitRequest::default()
    };
    let Response::OffsetCommit(committed) = kafka.call(7, commit) else {
        panic!("expected an OffsetCommit response");
    };
    assert_eq!(committed.topics[0].partitions[0].error_code, 0, "commit");
    (kafka, member)
}

fn cells(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[test]
fn group_list_and_describe_show_members_assignments_offsets_and_lag() {
    let broker = Broker::start_with(BrokerOptions {
        kafka: true,
        args: vec!["--group-initial-rebalance-delay-ms".into(), "50".into()],
        ..BrokerOptions::default()
    });
    broker
        .sluice(["topic", "create", "orders", "--partitions", "2"])
        .ok();
    broker
        .sluice(["produce", "orders", "--partition", "0"])
        .stdin("a\nb\nc\nd\ne\nf\n")
        .ok();
    broker
        .sluice(["produce", "orders", "--partition", "1"])
        .stdin("g\nh\ni\nj\n")
        .ok();
    // A native group: only committed offsets, through `sluice consume`.
    broker
        .sluice([
            "consume",
            "orders",
            "--group",
            "native",
            "--from-beginning",
            "--count",
            "10",
            "--timeout-ms",
            "10000",
        ])
        .ok();
    let (member_conn, member) = join_and_commit(broker.kafka_addr(), "app", "orders", 2);

    let out = broker.sluice(["group", "list"]).ok().stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(cells(lines[0]), ["GROUP", "STATE", "PROTOCOL", "MEMBERS"]);
    assert_eq!(cells(lines[1]), ["app", "Stable", "consumer", "1"], "{out}");
    assert_eq!(cells(lines[2]), ["native", "Empty", "-", "0"], "{out}");
    assert_eq!(lines.len(), 3, "{out}");

    let out = broker.sluice(["group", "describe", "app"]).ok().stdout;
    let lines: Vec<&str> = out.lines().collect();
    // Partition 0: committed 2 of 6 (lag 4); partition 1 assigned, never
    // committed (no lag known).
    assert_eq!(
        lines[0], "group app: Stable, protocol consumer/range, generation 1, 1 member, lag 4",
        "{out}"
    );
    assert_eq!(
        cells(lines[2]),
        ["MEMBER-ID", "CLIENT-ID", "HOST", "ASSIGNMENT"]
    );
    let row = cells(lines[3]);
    assert_eq!(row[0], member);
    assert_eq!(row[1], "e2e-member");
    assert!(row[2].contains("127.0.0.1"), "{out}");
    assert_eq!(row[3], "orders[0,1]");
    assert_eq!(
        cells(lines[5]),
        [
            "TOPIC",
            "PARTITION",
            "COMMITTED",
            "HIGH-WATERMARK",
            "LAG",
            "MEMBER-ID"
        ]
    );
    assert_eq!(cells(lines[6]), ["orders", "0", "2", "6", "4", &member]);
    assert_eq!(cells(lines[7]), ["orders", "1", "-", "4", "-", &member]);

    let out = broker.sluice(["group", "describe", "native"]).ok().stdout;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0], "group native: Empty, protocol -, generation 0, 0 members, lag 0",
        "{out}"
    );
    assert_eq!(cells(lines[3]), ["orders", "0", "6", "6", "0", "-"]);
    assert_eq!(cells(lines[4]), ["orders", "1", "4", "4", "0", "-"]);

    let error = broker.sluice(["group", "describe", "nosuch"]).fails();
    assert!(
        error.contains("describe group nosuch") && error.contains("consumer group not found"),
        "{error}"
    );

    // More records: the lag grows with the high watermark.
    broker
        .sluice(["produce", "orders", "--partition", "0"])
        .stdin("k\nl\n")
        .ok();
    let out = broker.sluice(["group", "describe", "app"]).ok().stdout;
    assert!(
        out.lines().next().is_some_and(|l| l.ends_with("lag 6")),
        "{out}"
    );
    drop(member_conn);
}

#[test]
fn group_list_on_a_broker_without_groups_prints_the_header() {
    let broker = Broker::start();
    let out = broker
        .sluice(["group", "list"])
        .timeout(Duration::from_secs(30))
        .ok();
    assert_eq!(
        cells(&out.stdout),
        ["GROUP", "STATE", "PROTOCOL", "MEMBERS"]
    );
}
