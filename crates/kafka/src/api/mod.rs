//! One module per api: typed request and response bodies with their codecs.

pub mod api_versions;
pub mod create_topics;
pub mod delete_topics;
pub mod describe_groups;
pub mod fetch;
pub mod fetch_response;
pub mod find_coordinator;
pub mod heartbeat;
pub mod init_producer_id;
pub mod join_group;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod metadata;
pub mod offset_commit;
pub mod offset_fetch;
pub mod produce;
pub mod sync_group;
