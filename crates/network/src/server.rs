//! The accept loop.
//!
//! Shape taken from mini-redis: a semaphore permit per connection bounds
//! how many are served at once; a `watch` channel tells every connection
//! that the server is shutting down; the server waits for the connection
//! tasks (bounded by `shutdown_grace`) before it returns.
//!
//! At the limit, a new client is not left in the backlog while some open
//! connection has not completed a request: the loop accepts it and closes
//! the oldest such connection for it (see `admission`).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tracing::{Instrument, debug, error, info, info_span, warn};

use crate::admission::{self, Newcomer, Registry};
use crate::budget::RequestBudget;
use crate::config::ServerConfig;
use crate::connection::{Connection, Context};
use crate::handler::Handler;
use crate::native_wire::NativeWire;
use crate::transfer::NetworkStats;
use crate::wire::{Endpoints, WireProtocol};

/// Serves the native protocol on `listener` with `handler`; see [`serve`].
pub async fn run<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    config: ServerConfig,
    stats: Arc<NetworkStats>,
    budget: RequestBudget,
    shutdown: impl Future,
) {
    serve(
        listener,
        Arc::new(NativeWire::new(handler)),
        config,
        stats,
        budget,
        shutdown,
    )
    .await;
}

/// Serves `protocol` on `listener` until `shutdown` completes, then stops
/// accepting, lets every connection finish the requests it has read (up to
/// `config.shutdown_grace`) and returns.
///
/// Every request frame is reserved in `budget` before it is read; pass the
/// same budget (a clone) to every listener whose requests it should bound.
///
/// Never fails: accept errors (such as running out of file descriptors) are
/// logged and retried after a short pause, and a broken connection only
/// ends its own task.
pub async fn serve<P: WireProtocol>(
    listener: TcpListener,
    protocol: Arc<P>,
    config: ServerConfig,
    stats: Arc<NetworkStats>,
    budget: RequestBudget,
    shutdown: impl Future,
) {
    let config = Arc::new(config);
    // Sender kept here; every connection holds a receiver. Sending `true`
    // makes them stop reading new requests.
    let (notify_shutdown, _) = watch::channel(false);
    // One permit per open connection; each connection task owns its permit
    // and returns it when it ends.
    let limit = Arc::new(Semaphore::new(config.max_connections.max(1)));
    // Connections that have not completed a request, oldest first.
    let newcomers = admission::registry();
    let mut next_id: u64 = 0;
    let mut connections = JoinSet::new();

    let accept = async {
        loop {
            // Reap finished tasks so the set does not grow without bound.
            while connections.try_join_next().is_some() {}
            // A slot, or none yet but one to be made for the next client.
            // Only this loop takes permits, so while it waits for one no
            // newcomer can appear: waiting is right when there is none.
            let slot = match limit.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) if admission::any_newcomer(&newcomers) => None,
                Err(_) => match limit.clone().acquire_owned().await {
                    Ok(permit) => Some(permit),
                    Err(_) => return, // the semaphore is never closed
                },
            };
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    error!(error = %err, "accept failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            if let Err(err) = stream.set_nodelay(true) {
                warn!(%peer, error = %err, "could not set TCP_NODELAY");
            }
            let local = match stream.local_addr() {
                Ok(local) => local,
                Err(err) => {
                    debug!(%peer, error = %err, "connection gone before it was served");
                    continue;
                }
            };
            let permit = match slot {
                Some(permit) => permit,
                None => match make_room(&limit, &newcomers, &stats).await {
                    Some(permit) => permit,
                    None => return,
                },
            };
            stats.connections_accepted.fetch_add(1, Ordering::Relaxed);
            stats.connections_open.fetch_add(1, Ordering::Relaxed);
            let id = next_id;
            next_id += 1;
            debug!(%peer, id, "connection accepted");
            let connection = Connection {
                stream,
                context: Context {
                    endpoints: Endpoints { peer, local },
                    protocol: protocol.clone(),
                    config: config.clone(),
                    stats: stats.clone(),
                },
                budget: budget.clone(),
                shutdown: notify_shutdown.subscribe(),
                newcomer: Newcomer::admit(&newcomers, id),
            };
            let stats = stats.clone();
            let span = info_span!("connection", id, %peer, %local, protocol = P::NAME);
            connections.spawn(
                async move {
                    connection.run().await;
                    stats.connections_open.fetch_sub(1, Ordering::Relaxed);
                    drop(permit);
                }
                .instrument(span),
            );
        }
    };

    tokio::select! {
        () = accept => {}
        _ = shutdown => info!("shutting down: no longer accepting connections"),
    }
    drop(listener);
    notify_shutdown.send_replace(true);

    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(config.shutdown_grace, drain)
        .await
        .is_err()
    {
        warn!(
            remaining = connections.len(),
            "connections did not finish within the shutdown grace period; aborting them"
        );
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
    info!(%stats, "server stopped");
}

/// A slot for a client accepted at the limit: one freed meanwhile, or the
/// one of the oldest connection that has not completed a request, which is
/// told to close. If none is left to close (they all spoke meanwhile), waits
/// for any connection to end. `None` only if the semaphore was closed.
async fn make_room(
    limit: &Arc<Semaphore>,
    newcomers: &Registry,
    stats: &NetworkStats,
) -> Option<OwnedSemaphorePermit> {
    if let Ok(permit) = limit.clone().try_acquire_owned() {
        return Some(permit);
    }
    if let Some(id) = admission::evict_oldest(newcomers) {
        stats.connections_evicted.fetch_add(1, Ordering::Relaxed);
        debug!(
            evicted = id,
            "connection limit reached; closing the oldest connection without a completed request"
        );
    }
    // The evicted connection's task returns its permit as it ends.
    limit.clone().acquire_owned().await.ok()
}
