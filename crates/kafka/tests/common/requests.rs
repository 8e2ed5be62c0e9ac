use bytes::Bytes;
use sluice_kafka::api::{
    create_topics::*, delete_topics::*, describe_groups::*, fetch::*, find_coordinator::*,
    heartbeat::*, init_producer_id::*, join_group::*, leave_group::*, list_groups::*,
    list_offsets::*, metadata::*, offset_commit::*, offset_fetch::*, produce::*, sync_group::*,
};
use sluice_kafka::{ApiKey, ApiVersionsRequest, Request};

use super::{s, when};

pub fn full(key: ApiKey, v: i16) -> Request {
    match key {
        ApiKey::Produce => ProduceRequest {
            transactional_id: Some(s("txn")),
            acks: -1,
            timeout_ms: 30_000,
            topics: vec![
                ProduceTopic {
                    name: s("orders"),
                    partitions: vec![
                        ProducePartition {
                            index: 0,
                            records: Some(Bytes::from_static(b"batch-zero")),
                        },
                        ProducePartition {
                            index: 3,
                            records: None,
                        },
                    ],
                },
                ProduceTopic {
                    name: s("empty"),
                    partitions: vec![],
                },
            ],
        }
        .into(),
        ApiKey::Fetch => FetchRequest {
            replica_id: -1,
            max_wait_ms: 500,
            min_bytes: 1,
            max_bytes: 52_428_800,
            isolation_level: 1,
            session_id: when(v >= 7, 9, 0),
            session_epoch: when(v >= 7, 2, -1),
            topics: vec![FetchTopic {
                name: s("orders"),
                partitions: vec![
                    FetchPartition {
                        partition: 0,
                        current_leader_epoch: when(v >= 9, 4, -1),
                        fetch_offset: 100,
                        log_start_offset: when(v >= 5, 7, -1),
                        partition_max_bytes: 1_048_576,
                    },
                    FetchPartition {
                        partition: 1,
                        fetch_offset: 0,
                        partition_max_bytes: 10,
                        ..FetchPartition::default()
                    },
                ],
            }],
            forgotten_topics: when(
                v >= 7,
                vec![ForgottenTopic {
                    name: s("old"),
                    partitions: vec![1, 2],
                }],
                vec![],
            ),
            rack_id: when(v >= 11, s("rack-a"), s("")),
        }
        .into(),
        ApiKey::ListOffsets => ListOffsetsRequest {
            replica_id: -1,
            isolation_level: when(v >= 2, 1, 0),
            topics: vec![ListOffsetsTopic {
                name: s("orders"),
                partitions: vec![
                    ListOffsetsPartition {
                        partition_index: 0,
                        current_leader_epoch: when(v >= 4, 3, -1),
                        timestamp: -1,
                    },
                    ListOffsetsPartition {
                        partition_index: 1,
                        current_leader_epoch: -1,
                        timestamp: -2,
                    },
                ],
            }],
        }
        .into(),
        ApiKey::Metadata => MetadataRequest {
            topics: Some(vec![s("orders"), s("payments")]),
            allow_auto_topic_creation: when(v >= 4, false, true),
            include_cluster_authorized_operations: v >= 8,
            include_topic_authorized_operations: v >= 8,
        }
        .into(),
        ApiKey::OffsetCommit => OffsetCommitRequest {
            group_id: s("g1"),
            generation_id: 5,
            member_id: s("m-1"),
            group_instance_id: when(v >= 7, Some(s("inst")), None),
            retention_time_ms: when((2..=4).contains(&v), 86_400_000, -1),
            topics: vec![OffsetCommitTopic {
                name: s("orders"),
                partitions: vec![
                    OffsetCommitPartition {
                        partition_index: 0,
                        committed_offset: 123,
                        committed_leader_epoch: when(v >= 6, 2, -1),
                        committed_metadata: Some(s("meta")),
                    },
                    OffsetCommitPartition {
                        partition_index: 1,
                        committed_offset: 0,
                        committed_leader_epoch: -1,
                        committed_metadata: None,
                    },
                ],
            }],
        }
        .into(),
        ApiKey::OffsetFetch => OffsetFetchRequest {
            group_id: s("g1"),
            topics: Some(vec![
                OffsetFetchTopic {
                    name: s("orders"),
                    partition_indexes: vec![0, 1, 2],
                },
                OffsetFetchTopic {
                    name: s("none"),
                    partition_indexes: vec![],
                },
            ]),
        }
        .into(),
        ApiKey::FindCoordinator => FindCoordinatorRequest {
            key: s("g1"),
            key_type: when(v >= 1, 1, 0),
        }
        .into(),
        ApiKey::JoinGroup => JoinGroupRequest {
            group_id: s("g1"),
            session_timeout_ms: 45_000,
            rebalance_timeout_ms: when(v >= 1, 300_000, -1),
            member_id: s(""),
            group_instance_id: when(v >= 5, Some(s("inst")), None),
            protocol_type: s("consumer"),
            protocols: vec![
                JoinGroupProtocol {
                    name: s("range"),
                    metadata: Bytes::from_static(&[0, 1, 0, 0, 0, 1]),
                },
                JoinGroupProtocol {
                    name: s("roundrobin"),
                    metadata: Bytes::new(),
                },
            ],
        }
        .into(),
        ApiKey::Heartbeat => HeartbeatRequest {
            group_id: s("g1"),
            generation_id: 3,
            member_id: s("m-1"),
            group_instance_id: when(v >= 3, Some(s("inst")), None),
        }
        .into(),
        ApiKey::LeaveGroup => LeaveGroupRequest {
            group_id: s("g1"),
            member_id: when(v <= 2, s("m-1"), s("")),
            members: when(
                v >= 3,
                vec![
                    LeaveGroupMember {
                        member_id: s("m-1"),
                        group_instance_id: None,
                    },
                    LeaveGroupMember {
                        member_id: s("m-2"),
                        group_instance_id: Some(s("inst")),
                    },
                ],
                vec![],
            ),
        }
        .into(),
        ApiKey::SyncGroup => SyncGroupRequest {
            group_id: s("g1"),
            generation_id: 3,
            member_id: s("m-1"),
            group_instance_id: when(v >= 3, Some(s("inst")), None),
            assignments: vec![
                SyncGroupAssignment {
                    member_id: s("m-1"),
                    assignment: Bytes::from_static(b"assign-1"),
                },
                SyncGroupAssignment {
                    member_id: s("m-2"),
                    assignment: Bytes::new(),
                },
            ],
        }
        .into(),
        ApiKey::DescribeGroups => DescribeGroupsRequest {
            groups: vec![s("g1"), s("g2")],
            include_authorized_operations: v >= 3,
        }
        .into(),
        ApiKey::ListGroups => ListGroupsRequest.into(),
        ApiKey::ApiVersions => ApiVersionsRequest {
            client_software_name: when(v >= 3, s("librdkafka"), s("")),
            client_software_version: when(v >= 3, s("2.0.2"), s("")),
        }
        .into(),
        ApiKey::CreateTopics => CreateTopicsRequest {
            topics: vec![
                CreatableTopic {
                    name: s("new"),
                    num_partitions: 3,
                    replication_factor: 1,
                    assignments: vec![],
                    configs: vec![
                        CreatableTopicConfig {
                            name: s("retention.ms"),
                            value: Some(s("1000")),
                        },
                        CreatableTopicConfig {
                            name: s("cleanup.policy"),
                            value: None,
                        },
                    ],
                },
                CreatableTopic {
                    name: s("manual"),
                    num_partitions: -1,
                    replication_factor: -1,
                    assignments: vec![CreatableReplicaAssignment {
                        partition_index: 0,
                        broker_ids: vec![1],
                    }],
                    configs: vec![],
                },
            ],
            timeout_ms: 5_000,
            validate_only: true,
        }
        .into(),
        ApiKey::DeleteTopics => DeleteTopicsRequest {
            topic_names: vec![s("a"), s("b")],
            timeout_ms: 5_000,
        }
        .into(),
        ApiKey::InitProducerId => InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: 60_000,
        }
        .into(),
        other => panic!("no sample for {other:?}"),
    }
}

pub fn empty(key: ApiKey, v: i16) -> Request {
    match key {
        ApiKey::Produce => ProduceRequest::default().into(),
        ApiKey::Fetch => FetchRequest::default().into(),
        ApiKey::ListOffsets => ListOffsetsRequest::default().into(),
        ApiKey::Metadata => MetadataRequest::default().into(),
        ApiKey::OffsetCommit => OffsetCommitRequest::default().into(),
        ApiKey::OffsetFetch => OffsetFetchRequest {
            group_id: s(""),
            // Null (all topics) exists from v2; v1 encodes it as empty.
            topics: when(v >= 2, None, Some(vec![])),
        }
        .into(),
        ApiKey::FindCoordinator => FindCoordinatorRequest::default().into(),
        ApiKey::JoinGroup => JoinGroupRequest::default().into(),
        ApiKey::Heartbeat => HeartbeatRequest::default().into(),
        ApiKey::LeaveGroup => LeaveGroupRequest::default().into(),
        ApiKey::SyncGroup => SyncGroupRequest::default().into(),
        ApiKey::DescribeGroups => DescribeGroupsRequest::default().into(),
        ApiKey::ListGroups => ListGroupsRequest.into(),
        ApiKey::ApiVersions => ApiVersionsRequest::default().into(),
        ApiKey::CreateTopics => CreateTopicsRequest::default().into(),
        ApiKey::DeleteTopics => DeleteTopicsRequest::default().into(),
        ApiKey::InitProducerId => InitProducerIdRequest::default().into(),
        other => panic!("no sample for {other:?}"),
    }
}
