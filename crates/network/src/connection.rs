//! One client connection: a reader and a writer joined in one task.
//!
//! The reader decodes frames and calls the handler for each, in read order;
//! what the handler returns goes into a bounded queue (`max_in_flight`
//! deep). The writer takes the queue in order, awaits each entry and writes
//! it. A [`Reply::Later`] future is spawned as its own task the moment it is
//! queued, so the waits of pipelined requests (flushes, long polls) overlap,
//! while the queue keeps their responses in request order.
//!
//! Ending: the reader stops on end of stream, an unframeable stream, the
//! idle timeout or shutdown, and drops the queue's sender; the writer then
//! drains what is queued and returns. If the writer fails (the peer is
//! gone), the reader is dropped with it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::BytesMut;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::config::ServerConfig;
use crate::handler::{Reply, Response};
use crate::protocol::{Endpoints, Protocol};
use crate::transfer::{self, NetworkStats};

/// Size of the length prefix every frame of every protocol starts with.
const LENGTH_PREFIX_LEN: usize = 4;

/// Smallest and largest read-buffer reservation per read. Growing in steps
/// means a peer that announces a 64 MiB frame and sends nothing costs us
/// almost nothing.
const MIN_READ: usize = 8 * 1024;
const MAX_READ: usize = 1024 * 1024;

/// A queued response, in request order.
enum Pending<T> {
    Ready(Response),
    Task {
        ticket: T,
        task: JoinHandle<Response>,
    },
}

pub(crate) struct Connection<P> {
    pub(crate) stream: TcpStream,
    pub(crate) endpoints: Endpoints,
    pub(crate) protocol: Arc<P>,
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) stats: Arc<NetworkStats>,
    /// Becomes `true` when the server shuts down: stop reading requests.
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl<P: Protocol> Connection<P> {
    pub(crate) async fn run(self) {
        let Connection {
            stream,
            endpoints,
            protocol,
            config,
            stats,
            shutdown,
        } = self;
        let (read_half, write_half) = stream.into_split();
        let (queue, pending) = mpsc::channel(config.max_in_flight.max(1));
        // Requests read but not yet answered; a connection with any is not idle.
        let in_flight = Arc::new(AtomicUsize::new(0));

        let peer = endpoints.peer;
        let reader = Reader {
            stream: read_half,
            endpoints,
            protocol: protocol.clone(),
            config: config.clone(),
            stats: stats.clone(),
            shutdown,
            queue,
            in_flight: in_flight.clone(),
        };
        let writer = write_loop(
            write_half, pending, &*protocol, peer, config, stats, in_flight,
        );
        tokio::pin!(writer);
        tokio::select! {
            () = &mut writer => return,
            () = reader.run() => {}
        }
        writer.await;
    }
}

struct Reader<P: Protocol> {
    stream: OwnedReadHalf,
    endpoints: Endpoints,
    protocol: Arc<P>,
    config: Arc<ServerConfig>,
    stats: Arc<NetworkStats>,
    shutdown: watch::Receiver<bool>,
    /// Dropped when the reader returns, which tells the writer to finish.
    queue: mpsc::Sender<Pending<P::Ticket>>,
    in_flight: Arc<AtomicUsize>,
}

impl<P: Protocol> Reader<P> {
    async fn run(mut self) {
        let peer = self.endpoints.peer;
        let mut buf = BytesMut::with_capacity(MIN_READ);
        // When the oldest incomplete frame's first bytes arrived. A frame must be complete within
        // the idle timeout of that moment: progress does not extend it, so a peer trickling a
        // byte at a time cannot hold a connection (and its buffer) forever.
        let mut partial_since: Option<tokio::time::Instant> = None;
        loop {
            // Everything already buffered is handled before reading more.
            loop {
                let next = self.protocol.next_request(
                    &mut buf,
                    self.config.max_frame_bytes,
                    self.endpoints,
                );
                match next {
                    Ok(Some((ticket, reply))) => {
                        if !self.queue_reply(ticket, reply).await {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(error) => {
                        warn!(%peer, %error, "unframeable request stream; closing connection");
                        self.stats
                            .connections_rejected
                            .fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
            if *self.shutdown.borrow() {
                return;
            }
            partial_since = match (buf.is_empty(), partial_since) {
                (true, _) => None,
                (false, Some(since)) => Some(since),
                (false, None) => Some(tokio::time::Instant::now()),
            };
            let deadline =
                partial_since.unwrap_or_else(tokio::time::Instant::now) + self.config.idle_timeout;
            let wanted = match buf.get(..LENGTH_PREFIX_LEN) {
                Some(prefix) => {
                    let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
                    (LENGTH_PREFIX_LEN + len as usize).saturating_sub(buf.len())
                }
                None => MIN_READ,
            };
            buf.reserve(wanted.clamp(MIN_READ, MAX_READ));
            tokio::select! {
                read = self.stream.read_buf(&mut buf) => match read {
                    Ok(0) if buf.is_empty() => {
                        debug!(%peer, "connection closed by peer");
                        return;
                    }
                    Ok(0) => {
                        warn!(%peer, buffered = buf.len(), "peer closed the connection inside a frame");
                        return;
                    }
                    Ok(_) => {}
                    Err(error) => {
                        debug!(%peer, %error, "read failed; closing connection");
                        return;
                    }
                },
                _ = self.shutdown.changed() => return,
                () = tokio::time::sleep_until(deadline) => {
                    if partial_since.is_some() {
                        warn!(%peer, buffered = buf.len(), "frame not completed within the idle timeout; closing connection");
                        return;
                    }
                    if self.in_flight.load(Ordering::Acquire) == 0 {
                        debug!(%peer, "idle timeout; closing connection");
                        return;
                    }
                }
            }
        }
    }

    /// Queues the reply of one request. Returns `false` when the writer is
    /// gone.
    async fn queue_reply(&mut self, ticket: P::Ticket, reply: Reply) -> bool {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let pending = match reply {
            Reply::NoResponse => return true,
            Reply::Ready(response) => Pending::Ready(response),
            Reply::Later(future) => Pending::Task {
                ticket,
                task: tokio::spawn(future),
            },
        };
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.queue.send(pending).await.is_ok()
    }
}

async fn write_loop<P: Protocol>(
    mut stream: OwnedWriteHalf,
    mut pending: mpsc::Receiver<Pending<P::Ticket>>,
    protocol: &P,
    peer: SocketAddr,
    config: Arc<ServerConfig>,
    stats: Arc<NetworkStats>,
    in_flight: Arc<AtomicUsize>,
) {
    while let Some(next) = pending.recv().await {
        let response = match next {
            Pending::Ready(response) => response,
            Pending::Task { ticket, task } => match task.await {
                Ok(response) => response,
                Err(error) => {
                    warn!(%peer, %error, "request task failed");
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
