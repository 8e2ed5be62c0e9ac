//! ApiVersions: the keys and versions this build serves.

use sluice_network::{Reply, Request};
use sluice_protocol::{api, pb};

use crate::state::BrokerState;

pub(super) fn handle(_state: &BrokerState, request: Request) -> Reply {
    if let Err(reply) = super::decode::<pb::ApiVersionsRequest>(&request) {
        return reply;
    }
    let body = pb::ApiVersionsResponse {
        api_versions: api::supported_api_versions(),
        broker_version: env!("CARGO_PKG_VERSION").to_owned(),
        ..Default::default()
    };
    super::respond(&request, &body)
}
