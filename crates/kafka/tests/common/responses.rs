use bytes::Bytes;
use sluice_kafka::api::{
    create_topics::*, delete_topics::*, describe_groups::*, fetch_response::*, find_coordinator::*,
    heartbeat::*, init_producer_id::*, join_group::*, leave_group::*, list_groups::*,
    list_offsets::*, metadata::*, offset_commit::*, offset_fetch::*, produce::*, sync_group::*,
};
use sluice_kafka::{ApiKey, ApiVersionRange, ApiVersionsResponse, Response, api_versions};

use super::{s, when};

pub fn full(key: ApiKey, v: i16) -> Response {
    match key {
        ApiKey::Produce => ProduceResponse {
            responses: vec![ProduceTopicResponse {
                name: s("orders"),
                partitions: vec![
                    ProducePartitionResponse {
                        index: 0,
                        error_code: 0,
                        base_offset: 1000,
                        log_append_time_ms: when(v >= 2, 1_700_000_000_000, -1),
                        log_start_offset: when(v >= 5, 10, -1),
                        record_errors: when(
                            v >= 8,
                            vec![BatchIndexAndErrorMessage {
                                batch_index: 2,
                                message: Some(s("bad")),
                            }],
                            vec![],
                        ),
                        error_message: when(v >= 8, Some(s("oops")), None),
                    },
                    ProducePartitionResponse {
                        index: 1,
                        error_code: 87,
                        ..ProducePartitionResponse::default()
                    },
                ],
            }],
            throttle_time_ms: 5,
        }
        .into(),
        ApiKey::Fetch => fetch_sample(v).into(),
        ApiKey::ListOffsets => ListOffsetsResponse {
            throttle_time_ms: when(v >= 2, 5, 0),
            topics: vec![ListOffsetsTopicResponse {
                name: s("orders"),
                partitions: vec![
                    ListOffsetsPartitionResponse {
                        partition_index: 0,
                        error_code: 0,
                        timestamp: -1,
                        offset: 42,
                        leader_epoch: when(v >= 4, 0, -1),
                    },
                    ListOffsetsPartitionResponse {
                        partition_index: 9,
                        error_code: 3,
                        ..ListOffsetsPartitionResponse::default()
                    },
                ],
            }],
        }
        .into(),
        ApiKey::Metadata => MetadataResponse {
            throttle_time_ms: when(v >= 3, 5, 0),
            brokers: vec![
                MetadataBroker {
                    node_id: 1,
                    host: s("localhost"),
                    port: 9092,
                    rack: Some(s("r1")),
                },
                MetadataBroker {
                    node_id: 2,
                    host: s("other"),
                    port: 9093,
                    rack: None,
                },
            ],
            cluster_id: when(v >= 2, Some(s("sluice")), None),
            controller_id: 1,
            topics: vec![
                MetadataTopic {
                    error_code: 0,
                    name: s("orders"),
                    is_internal: true,
                    partitions: vec![MetadataPartition {
                        error_code: 0,
                        partition_index: 0,
                        leader_id: 1,
                        leader_epoch: when(v >= 7, 0, -1),
                        replica_nodes: vec![1],
                        isr_nodes: vec![1],
                        offline_replicas: when(v >= 5, vec![2], vec![]),
                    }],
                    topic_authorized_operations: when(v >= 8, 0xff, i32::MIN),
                },
                MetadataTopic {
                    error_code: 3,
                    name: s("missing"),
                    ..MetadataTopic::default()
                },
            ],
            cluster_authorized_operations: when(v >= 8, 7, i32::MIN),
        }
        .into(),
        ApiKey::OffsetCommit => OffsetCommitResponse {
            throttle_time_ms: when(v >= 3, 5, 0),
            topics: vec![OffsetCommitTopicResponse {
                name: s("orders"),
                partitions: vec![
                    OffsetCommitPartitionResponse {
                        partition_index: 0,
                        error_code: 0,
                    },
                    OffsetCommitPartitionResponse {
                        partition_index: 1,
                        error_code: 22,
                    },
                ],
            }],
        }
        .into(),
        ApiKey::OffsetFetch => OffsetFetchResponse {
            throttle_time_ms: when(v >= 3, 5, 0),
            topics: vec![OffsetFetchTopicResponse {
                name: s("orders"),
                partitions: vec![
                    OffsetFetchPartitionResponse {
                        partition_index: 0,
                        committed_offset: 77,
                        committed_leader_epoch: when(v >= 5, 1, -1),
                        metadata: Some(s("m")),
                        error_code: 0,
                    },
                    OffsetFetchPartitionResponse::default(),
                ],
            }],
            error_code: when(v >= 2, 16, 0),
        }
        .into(),
        ApiKey::FindCoordinator => FindCoordinatorResponse {
            throttle_time_ms: when(v >= 1, 5, 0),
            error_code: 0,
            error_message: when(v >= 1, Some(s("fine")), None),
            node_id: 1,
            host: s("localhost"),
            port: 9092,
        }
        .into(),
        ApiKey::JoinGroup => JoinGroupResponse {
            throttle_time_ms: when(v >= 2, 5, 0),
            error_code: 0,
            generation_id: 4,
            protocol_name: s("range"),
            leader: s("m-1"),
            member_id: s("m-1"),
            members: vec![
                JoinGroupMember {
                    member_id: s("m-1"),
                    group_instance_id: when(v >= 5, Some(s("inst")), None),
                    metadata: Bytes::from_static(b"sub-1"),
                },
                JoinGroupMember {
                    member_id: s("m-2"),
                    group_instance_id: None,
                    metadata: Bytes::new(),
                },
            ],
        }
        .into(),
        ApiKey::Heartbeat => HeartbeatResponse {
            throttle_time_ms: when(v >= 1, 5, 0),
            error_code: 27,
        }
        .into(),
        ApiKey::LeaveGroup => LeaveGroupResponse {
            throttle_time_ms: when(v >= 1, 5, 0),
            error_code: 0,
            members: when(
                v >= 3,
                vec![
                    LeaveGroupMemberResponse {
                        member_id: s("m-1"),
                        group_instance_id: None,
                        error_code: 0,
                    },
                    LeaveGroupMemberResponse {
                        member_id: s("m-2"),
                        group_instance_id: Some(s("inst")),
                        error_code: 25,
                    },
                ],
                vec![],
            ),
        }
        .into(),
        ApiKey::SyncGroup => SyncGroupResponse {
            throttle_time_ms: when(v >= 1, 5, 0),
            error_code: 0,
            assignment: Bytes::from_static(b"assign-1"),
        }
        .into(),
        ApiKey::DescribeGroups => DescribeGroupsResponse {
            throttle_time_ms: when(v >= 1, 5, 0),
            groups: vec![
                DescribedGroup {
                    error_code: 0,
                    group_id: s("g1"),
                    group_state: s("Stable"),
                    protocol_type: s("consumer"),
                    protocol_data: s("range"),
                    members: vec![DescribedGroupMember {
                        member_id: s("m-1"),
                        group_instance_id: when(v >= 4, Some(s("inst")), None),
                        client_id: s("rdkafka"),
                        client_host: s("/127.0.0.1"),
                        member_metadata: Bytes::from_static(b"md"),
                        member_assignment: Bytes::from_static(b"as"),
                    }],
                    authorized_operations: when(v >= 3, 0x1f, i32::MIN),
                },
                DescribedGroup {
                    error_code: 69,
                    group_id: s("gone"),
                    group_state: s("Dead"),
                    ..DescribedGroup::default()
                },
            ],
        }
        .into(),
        ApiKey::ListGroups => ListGroupsResponse {
            throttle_time_ms: when(v >= 1, 5, 0),
            error_code: 0,
            groups: vec![
                ListedGroup {
                    group_id: s("g1"),
                    protocol_type: s("consumer"),
                },
                ListedGroup {
                    group_id: s("g2"),
                    protocol_type: s(""),
                },
            ],
        }
        .into(),
        ApiKey::ApiVersions => ApiVersionsResponse {
            throttle_time_ms: when(v >= 1, 5, 0),
            ..api_versions::response()
        }
        .into(),
        ApiKey::CreateTopics => CreateTopicsResponse {
            throttle_time_ms: 5,
            topics: vec![
                CreatableTopicResult {
                    name: s("new"),
                    error_code: 0,
                    error_message: None,
                },
                CreatableTopicResult {
                    name: s("dup"),
                    error_code: 36,
                    error_message: Some(s("exists")),
                },
            ],
        }
        .into(),
        ApiKey::DeleteTopics => DeleteTopicsResponse {
            throttle_time_ms: 5,
            responses: vec![
                DeletableTopicResult {
                    name: s("a"),
                    error_code: 0,
                },
                DeletableTopicResult {
                    name: s("b"),
                    error_code: 3,
                },
            ],
        }
        .into(),
        ApiKey::InitProducerId => InitProducerIdResponse {
            throttle_time_ms: 5,
            error_code: 0,
            producer_id: 1001,
            producer_epoch: 0,
        }
        .into(),
        other => panic!("no sample for {other:?}"),
    }
}

/// Two topics, three partitions: records, empty records, null records.
pub fn fetch_sample(v: i16) -> FetchResponse {
    let mut p0 = FetchPartitionResponse::new(0);
    p0.high_watermark = 10;
    p0.last_stable_offset = 10;
    p0.log_start_offset = when(v >= 5, 0, -1);
    p0.aborted_transactions = Some(vec![AbortedTransaction {
        producer_id: 5,
        first_offset: 3,
    }]);
    p0.preferred_read_replica = when(v >= 11, 1, -1);
    p0.records = Some(Bytes::from_static(b"records-of-p0"));
    let mut p1 = FetchPartitionResponse::new(1);
    p1.high_watermark = 0;
    p1.records = Some(Bytes::new());
    let mut p2 = FetchPartitionResponse::new(0);
    p2.error_code = 1;
    p2.aborted_transactions = Some(vec![]);
    p2.records = Some(Bytes::from_static(b"second topic bytes"));
    FetchResponse {
        throttle_time_ms: 5,
        error_code: when(v >= 7, 0, 0),
        session_id: 0,
        responses: vec![
            FetchTopicResponse {
                topic: s("orders"),
                partitions: vec![p0, p1],
            },
            FetchTopicResponse {
                topic: s("payments"),
                partitions: vec![p2, FetchPartitionResponse::new(7)],
            },
        ],
    }
}

pub fn empty(key: ApiKey, _v: i16) -> Response {
    match key {
        ApiKey::Produce => ProduceResponse::default().into(),
        ApiKey::Fetch => FetchResponse::default().into(),
        ApiKey::ListOffsets => ListOffsetsResponse::default().into(),
        ApiKey::Metadata => MetadataResponse::default().into(),
        ApiKey::OffsetCommit => OffsetCommitResponse::default().into(),
        ApiKey::OffsetFetch => OffsetFetchResponse::default().into(),
        ApiKey::FindCoordinator => FindCoordinatorResponse::default().into(),
        ApiKey::JoinGroup => JoinGroupResponse::default().into(),
        ApiKey::Heartbeat => HeartbeatResponse::default().into(),
        ApiKey::LeaveGroup => LeaveGroupResponse::default().into(),
        ApiKey::SyncGroup => SyncGroupResponse::default().into(),
        ApiKey::DescribeGroups => DescribeGroupsResponse::default().into(),
        ApiKey::ListGroups => ListGroupsResponse::default().into(),
        ApiKey::ApiVersions => ApiVersionsResponse {
            api_keys: vec![ApiVersionRange::default()],
            ..ApiVersionsResponse::default()
        }
        .into(),
        ApiKey::CreateTopics => CreateTopicsResponse::default().into(),
        ApiKey::DeleteTopics => DeleteTopicsResponse::default().into(),
        ApiKey::InitProducerId => InitProducerIdResponse::default().into(),
        other => panic!("no sample for {other:?}"),
    }
}
