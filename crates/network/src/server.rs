//! The accept loop.
//!
//! Shape taken from mini-redis: a semaphore permit per connection bounds
//! how many are served at once; a `watch` channel tells every connection
//! that the server is shutting down; the server waits for the connection
//! tasks (bounded by `shutdown_grace`) before it returns.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

use crate::config::ServerConfig;
use crate::connection::Connection;
use crate::handler::Handler;
use crate::protocol::{Endpoints, Native, Protocol};
use crate::transfer::NetworkStats;

/// Serves the native protocol on `listener` with `handler`; see [`serve`].
pub async fn run<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    config: ServerConfig,
    stats: Arc<NetworkStats>,
    shutdown: impl Future,
) {
    serve(
        listener,
        Arc::new(Native::new(handler)),
        config,
        stats,
        shutdown,
    )
    .await;
}

/// Serves `protocol` on `listener` until `shutdown` completes, then stops
/// accepting, lets every connection finish the requests it has read (up to
/// `config.shutdown_grace`) and returns.
///
/// Never fails: accept errors (such as running out of file descriptors) are
/// logged and retried after a short pause, and a broken connection only
/// ends its own task.
pub async fn serve<P: Protocol>(
    listener: TcpListener,
    protocol: Arc<P>,
    config: ServerConfig,
    stats: Arc<NetworkStats>,
    shutdown: impl Future,
) {
    let config = Arc::new(config);
    // Sender kept here; every connection holds a receiver. Sending `true`
    // makes them stop reading new requests.
    let (notify_shutdown, _) = watch::channel(false);
    // One permit per open connection; each connection task owns its permit
    // and returns it when it ends.
    let limit = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let mut connections = JoinSet::new();

    let accept = async {
        loop {
            // Reap finished tasks so the set does not grow without bound.
            while connections.try_join_next().is_some() {}
            let Ok(permit) = limit.clone().acquire_owned().await else {
                return; // the semaphore is never closed
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
            stats.connections_accepted.fetch_add(1, Ordering::Relaxed);
            stats.connections_open.fetch_add(1, Ordering::Relaxed);
            debug!(%peer, "connection accepted");
            let connection = Connection {
                stream,
                endpoints: Endpoints { peer, local },
                protocol: protocol.clone(),
                config: config.clone(),
                stats: stats.clone(),
                shutdown: notify_shutdown.subscribe(),
            };
            let stats = stats.clone();
            connections.spawn(async move {
                connection.run().await;
                stats.connections_open.fetch_sub(1, Ordering::Relaxed);
                drop(permit);
            });
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
