//! The broker core, the same behind both protocols: produce, fetch, list
//! offsets, offset commit and fetch, topic admin. The native and Kafka
//! handlers (`native_api`, `kafka_api`) decode a request, call one of these
//! operations and encode what it returns; everything a client can observe
//! besides the bytes of the wire (validation, idempotence, acks, the fetch
//! budget and long poll, group generation checks, durability of commits,
//! topic settings) is decided here, once.
//!
//! Operations fail with [`ServiceError`]; each protocol maps its
//! [`ErrorKind`] to its own codes. Waits (acks=all, long polls, commit
//! flushes) are returned as futures for the protocol to answer with later,
//! so the synchronous part (the append, in request order) runs on the
//! connection task. docs/design.md maps a produce and a fetch through the
//! files.

mod error;
pub(crate) mod fetch;
mod fetch_budget;
pub(crate) mod groups;
pub(crate) mod list_offsets;
mod long_poll;
pub(crate) mod offsets;
pub(crate) mod produce;
pub(crate) mod topic_settings;
pub(crate) mod topics;

pub use error::{ErrorKind, ProducerRejection, ServiceError};
pub use topic_settings::{SETTINGS, Setting, TopicOverrides, TopicSettings};

/// A boxed future of a deferred answer.
pub(crate) type Pending<T> = std::pin::Pin<Box<dyn Future<Output = T> + Send>>;

/// What an operation answers with: now, or once a wait (a flush, a long
/// poll, a rebalance) is over.
pub(crate) enum Deferred<T> {
    Ready(T),
    Later(Pending<T>),
}

impl<T: Send + 'static> Deferred<T> {
    /// The connection's reply: `respond` (the protocol's encoding) applied
    /// to the answer now, or when it comes, off the connection task.
    pub(crate) fn into_reply(
        self,
        respond: impl FnOnce(T) -> sluice_network::Response + Send + 'static,
    ) -> sluice_network::Reply {
        match self {
            Deferred::Ready(answer) => sluice_network::Reply::Ready(respond(answer)),
            Deferred::Later(answer) => {
                sluice_network::Reply::Later(Box::pin(async move { respond(answer.await) }))
            }
        }
    }
}

/// Runs blocking file work (topic creation, deletion) without stalling the
/// other tasks of a multi-threaded runtime. Still synchronous, so request
/// order is kept.
pub(crate) fn blocking<T>(work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}
