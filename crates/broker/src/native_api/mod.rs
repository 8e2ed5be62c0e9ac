//! One module per request type behind one dispatch.
//!
//! Each module's `handle` runs on the connection task in request order (see
//! `sluice_network::Handler`): it decodes the body, does the synchronous
//! work and returns a [`Reply`]; waits (flushes, long polls) go into
//! [`Reply::Later`].

mod api_versions;
pub(crate) mod codes;
mod commit_offsets;
mod create_topic;
mod delete_topic;
mod describe_groups;
mod fetch;
mod fetch_offsets;
mod groups;
mod list_groups;
mod list_offsets;
mod metadata;
mod produce;

use std::sync::Arc;

use sluice_network::{Handler, Reply, Request, Response};
use sluice_protocol::{ApiKey, ErrorCode};

use crate::service::ServiceError;
use crate::state::BrokerState;

/// The broker's [`Handler`].
#[derive(Debug, Clone)]
pub struct NativeApi {
    state: Arc<BrokerState>,
}

impl NativeApi {
    pub fn new(state: Arc<BrokerState>) -> NativeApi {
        NativeApi { state }
    }
}

impl Handler for NativeApi {
    fn handle(&self, request: Request) -> Reply {
        let state = &self.state;
        match request.api {
            ApiKey::ApiVersions => api_versions::handle(state, request),
            ApiKey::Metadata => metadata::handle(state, request),
            ApiKey::CreateTopic => create_topic::handle(state, request),
            ApiKey::DeleteTopic => delete_topic::handle(state, request),
            ApiKey::Produce => produce::handle(state, request),
            ApiKey::Fetch => fetch::handle(state, request),
            ApiKey::ListOffsets => list_offsets::handle(state, request),
            ApiKey::CommitOffsets => commit_offsets::handle(state, request),
            ApiKey::FetchOffsets => fetch_offsets::handle(state, request),
            ApiKey::ListGroups => list_groups::handle(state, request),
            ApiKey::DescribeGroups => describe_groups::handle(state, request),
            ApiKey::JoinGroup => groups::join(state, request),
            ApiKey::SyncGroup => groups::sync(state, request),
            ApiKey::Heartbeat => groups::heartbeat(state, request),
            ApiKey::LeaveGroup => groups::leave(state, request),
        }
    }
}

/// Decodes the body, or gives the `INVALID_REQUEST` reply to send instead.
fn decode<M: prost::Message + Default>(request: &Request) -> Result<M, Reply> {
    M::decode(request.body.clone()).map_err(|error| {
        tracing::debug!(api = ?request.api, %error, "undecodable request body");
        Reply::Ready(Response::error(
            request.header.correlation_id,
            ErrorCode::InvalidRequest,
            format!("undecodable {:?} body: {error}", request.api),
        ))
    })
}

fn respond(request: &Request, body: &impl prost::Message) -> Reply {
    Reply::Ready(Response::message(request.header.correlation_id, body))
}

fn error_reply(request: &Request, error: &ServiceError) -> Reply {
    Reply::Ready(Response::error(
        request.header.correlation_id,
        codes::native_code(error),
        error.message(),
    ))
}

/// The wire value of an outcome's code.
fn code<T>(outcome: &Result<T, ServiceError>) -> i32 {
    outcome
        .as_ref()
        .err()
        .map_or(ErrorCode::None, codes::native_code) as i32
}
