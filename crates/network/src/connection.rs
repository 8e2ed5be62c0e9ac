//! One client connection: a reader and a writer joined in one task.
//!
//! The reader decodes frames and calls the handler for each, in read order;
//! what the handler returns goes into a bounded queue (`max_in_flight`
//! deep). The writer takes the queue in order, awaits each entry and writes
//! it. A [`crate::Reply::Later`] future is spawned as its own task the
//! moment it is queued, inside its request's span (a spawned task inherits
//! none), so the waits of pipelined requests (flushes, long polls) overlap,
//! while the queue keeps their responses in request order.
//!
//! Ending: the reader (`reader`) stops on end of stream, an unframeable
//! stream, a timeout (`timers`), eviction or shutdown, and drops the
//! queue's sender; the writer then drains what is queued and returns. If
//! the writer fails (the peer is gone), the reader is dropped with it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{Span, debug, warn};

use crate::admission::Newcomer;
use crate::budget::RequestBudget;
use crate::config::ServerConfig;
use crate::handler::Response;
use crate::reader::Reader;
use crate::transfer::{self, NetworkStats};
use crate::wire::{Endpoints, WireProtocol};

/// A queued response, in request order.
pub(crate) enum Pending<T> {
    Ready(Response),
    Task {
        ticket: T,
        task: JoinHandle<Response>,
        /// The span the task runs in, to report its failure in.
        span: Span,
    },
}

/// What a connection's reader and writer both use. Cheap to clone: shared
/// handles and two addresses.
pub(crate) struct Context<P> {
    pub(crate) endpoints: Endpoints,
    pub(crate) protocol: Arc<P>,
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) stats: Arc<NetworkStats>,
}

impl<P> Clone for Context<P> {
    fn clone(&self) -> Self {
        Context {
            endpoints: self.endpoints,
            protocol: self.protocol.clone(),
            config: self.config.clone(),
            stats: self.stats.clone(),
        }
    }
}

pub(crate) struct Connection<P> {
    pub(crate) stream: TcpStream,
    pub(crate) context: Context<P>,
    /// The server-wide request memory budget, shared with every connection
    /// of every listener it was given to.
    pub(crate) budget: RequestBudget,
    /// Becomes `true` when the server shuts down: stop reading requests.
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Until the first request is complete, the accept loop may close this
    /// connection to admit another.
    pub(crate) newcomer: Newcomer,
}

impl<P: WireProtocol> Connection<P> {
    pub(crate) async fn run(self) {
        let Connection {
            stream,
            context,
            budget,
            shutdown,
            newcomer,
        } = self;
        let (read_half, write_half) = stream.into_split();
        let (queue, pending) = mpsc::channel(context.config.max_in_flight.max(1));
        let in_flight = Arc::new(AtomicUsize::new(0));

        let writer = write_loop(write_half, pending, context.clone(), in_flight.clone());
        let reader = Reader {
            stream: read_half,
            context,
            budget,
            shutdown,
            newcomer,
            queue,
            in_flight,
        };
        tokio::pin!(writer);
        tokio::select! {
            () = &mut writer => return,
            () = reader.run() => {}
        }
        writer.await;
    }
}

async fn write_loop<P: WireProtocol>(
    mut stream: OwnedWriteHalf,
    mut pending: mpsc::Receiver<Pending<P::Ticket>>,
    context: Context<P>,
    in_flight: Arc<AtomicUsize>,
) {
    let Context {
        endpoints,
        protocol,
        config,
        stats,
    } = context;
    let peer = endpoints.peer;
    while let Some(next) = pending.recv().await {
        let response = match next {
            Pending::Ready(response) => response,
            Pending::Task { ticket, task, span } => match task.await {
                Ok(response) => response,
                Err(error) => {
                    span.in_scope(|| warn!(%peer, %error, "request task failed"));
                    match protocol.task_failed(ticket) {
                        Some(response) => response,
                        None => return,
                    }
                }
            },
        };
        let write = transfer::write_response(&mut stream, &response, config.transfer_mode, &stats);
        match tokio::time::timeout(config.idle_timeout, write).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                debug!(%peer, %error, "write failed; closing connection");
                return;
            }
            Err(_) => {
                warn!(%peer, "peer stopped reading; closing connection");
                return;
            }
        }
        in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}
