//! Metadata: a one-node cluster. This node is the only broker, the
//! controller and the leader of every partition (replicas and ISR are just
//! itself, leader epoch -1, so clients never need OffsetForLeaderEpoch).
//! Named unknown topics are created when the broker auto-creates topics and
//! the request allows it.

use sluice_kafka::ErrorCode as K;
use sluice_kafka::api::metadata::{
    MetadataBroker, MetadataPartition, MetadataRequest, MetadataResponse, MetadataTopic,
};
use sluice_network::{KafkaRequest, Reply};

use super::codes::kafka_code;
use super::{CLUSTER_ID, NODE_ID};
use crate::config::split_host_port;
use crate::service::topics::get_or_create;
use crate::state::BrokerState;
use crate::topics::Topic;

pub(super) fn handle(state: &BrokerState, request: &KafkaRequest, body: &MetadataRequest) -> Reply {
    let topics = match &body.topics {
        None => state.topics.all().iter().map(|t| describe(t)).collect(),
        Some(names) => names
            .iter()
            .map(|name| lookup(state, name, body.allow_auto_topic_creation))
            .collect(),
    };
    Reply::Ready(request.respond(MetadataResponse {
        brokers: vec![this_broker(state, request)],
        cluster_id: Some(CLUSTER_ID.to_owned()),
        controller_id: NODE_ID,
        topics,
        ..MetadataResponse::default()
    }))
}

/// This broker as clients should reach it: at the advertised address if
/// one is configured, else at the address they used.
pub(super) fn this_broker(state: &BrokerState, request: &KafkaRequest) -> MetadataBroker {
    let (host, port) = state
        .config
        .kafka_advertise
        .as_deref()
        .and_then(split_host_port)
        .unwrap_or_else(|| (request.local.ip().to_string(), request.local.port()));
    MetadataBroker {
        node_id: NODE_ID,
        host,
        port: i32::from(port),
        rack: None,
    }
}

fn lookup(state: &BrokerState, name: &str, allows_creation: bool) -> MetadataTopic {
    let error = |error_code| MetadataTopic {
        error_code,
        name: name.to_owned(),
        ..MetadataTopic::default()
    };
    match get_or_create(state, name, allows_creation) {
        Ok(Some(topic)) => describe(&topic),
        Ok(None) => error(K::UNKNOWN_TOPIC_OR_PARTITION),
        Err(e) => error(kafka_code(&e)),
    }
}

fn describe(topic: &Topic) -> MetadataTopic {
    let index = |p: u32| i32::try_from(p).unwrap_or(i32::MAX);
    let online = topic.partitions.iter().map(|p| MetadataPartition {
        error_code: K::NONE,
        partition_index: index(p.index),
        leader_id: NODE_ID,
        leader_epoch: -1,
        replica_nodes: vec![NODE_ID],
        isr_nodes: vec![NODE_ID],
        offline_replicas: Vec::new(),
    });
    // An offline partition has no leader, as in Kafka when the leader's log directory failed:
    // clients keep its messages queued and retry instead of failing the whole topic.
    let offline = topic.offline.keys().map(|&p| MetadataPartition {
        error_code: K::LEADER_NOT_AVAILABLE,
        partition_index: index(p),
        leader_id: -1,
        leader_epoch: -1,
        replica_nodes: vec![NODE_ID],
        isr_nodes: Vec::new(),
        offline_replicas: vec![NODE_ID],
    });
    let mut partitions: Vec<_> = online.chain(offline).collect();
    partitions.sort_by_key(|p| p.partition_index);
    MetadataTopic {
        error_code: K::NONE,
        name: topic.name.clone(),
        is_internal: false,
        partitions,
        ..MetadataTopic::default()
    }
}
