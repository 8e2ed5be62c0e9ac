//! The reading half of a connection: cuts frames, reserves their memory,
//! and runs each request's synchronous part in read order.
//!
//! A frame's length prefix is read first (into a small read buffer, with
//! whatever else came in the same read). Its length is checked, then its
//! bytes are reserved in the server's [`RequestBudget`], waiting if the
//! budget is spent, and only then is a buffer sized for it: a frame already
//! whole in the read buffer is split off it, a larger one gets a buffer of
//! exactly its size that the body is read into directly. So a peer that
//! announces a 64 MiB frame costs nothing until the budget has room for it,
//! and no more than 64 MiB after.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::BytesMut;
use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{Instrument, Span, debug, warn};

use crate::admission::Newcomer;
use crate::budget::{BudgetError, RequestBudget, Reservation};
use crate::connection::{Context, Pending};
use crate::handler::Reply;
use crate::timers::{Expiry, Timers};
use crate::transfer::NetworkStats;
use crate::wire::{Answer, Unframeable, WireProtocol};

/// Size of the length prefix every frame of every protocol starts with.
const LENGTH_PREFIX_LEN: usize = 4;

/// Capacity of the read buffer that prefixes and small frames are read
/// into. Outside the request memory budget, so kept small; frames that do
/// not fit get a buffer of their own.
const READ_BUF: usize = 64 * 1024;

pub(crate) struct Reader<P: WireProtocol> {
    pub(crate) stream: OwnedReadHalf,
    pub(crate) context: Context<P>,
    pub(crate) budget: RequestBudget,
    pub(crate) shutdown: watch::Receiver<bool>,
    /// This connection's entry among those that have not completed a
    /// request; dropped (leaving the set) when the reader returns.
    pub(crate) newcomer: Newcomer,
    /// Dropped when the reader returns, which tells the writer to finish.
    pub(crate) queue: mpsc::Sender<Pending<P::Ticket>>,
    /// Requests read but not yet answered; a connection with any is not idle.
    pub(crate) in_flight: Arc<AtomicUsize>,
}

/// Why the reader stopped. Logged and counted in one place, [`Stop::report`].
#[derive(Debug)]
enum Stop {
    PeerClosed,
    PeerClosedInFrame {
        buffered: usize,
    },
    ReadFailed(io::Error),
    Unframeable(Unframeable),
    OverBudget(BudgetError),
    Shutdown,
    /// Closed to admit a new connection before completing a request.
    Evicted,
    HandshakeTimeout,
    FrameTimeout,
    IdleTimeout,
    /// The writer ended (the peer is gone); nothing more can be answered.
    WriterGone,
}

impl<P: WireProtocol> Reader<P> {
    pub(crate) async fn run(mut self) {
        let stop = self.serve().await;
        stop.report(&self.context.stats);
    }

    async fn serve(&mut self) -> Stop {
        let mut buf = BytesMut::with_capacity(READ_BUF);
        let mut timers = Timers::new(
            Instant::now(),
            self.context.config.handshake_timeout,
            self.context.config.idle_timeout,
        );
        loop {
            if *self.shutdown.borrow() {
                return Stop::Shutdown;
            }
            let (frame, memory) = match self.next_frame(&mut buf, &mut timers).await {
                Ok(next) => next,
                Err(stop) => return stop,
            };
            timers.frame_done();
            self.newcomer.spoke();
            let context = &self.context;
            let answer = match context.protocol.answer(frame, memory, context.endpoints) {
                Ok(answer) => answer,
                Err(error) => return Stop::Unframeable(error),
            };
            if !self.queue_reply(answer).await {
                return Stop::WriterGone;
            }
        }
    }

    /// Reads the next whole frame, with its reservation.
    async fn next_frame(
        &mut self,
        buf: &mut BytesMut,
        timers: &mut Timers,
    ) -> Result<(BytesMut, Reservation), Stop> {
        let prefix = loop {
            if let Some(prefix) = buf.first_chunk::<LENGTH_PREFIX_LEN>() {
                break *prefix;
            }
            // Frames cut from the buffer keep its front; when little room
            // is left behind them, read into a fresh one.
            if buf.capacity() - buf.len() < READ_BUF / 8 {
                buf.reserve(READ_BUF);
            }
            self.read(buf, READ_BUF, timers).await?;
        };
        let len = self
            .context
            .protocol
            .frame_len(prefix, self.context.config.max_frame_bytes)
            .map_err(Stop::Unframeable)?;
        let total = LENGTH_PREFIX_LEN + len;
        let memory = self.reserve(total, timers).await?;
        if buf.len() >= total {
            return Ok((buf.split_to(total), memory));
        }
        // The rest of the frame is still to come: give it a buffer of its
        // own, exactly its size, and read the body straight into it.
        let mut frame = BytesMut::with_capacity(total);
        frame.extend_from_slice(buf);
        buf.clear();
        while frame.len() < total {
            let missing = total - frame.len();
            self.read(&mut frame, missing, timers).await?;
        }
        Ok((frame, memory))
    }

    /// Reserves `len` bytes of request memory. The wait is not the peer's
    /// doing, so it counts against none of its clocks; shutdown and
    /// eviction still end it.
    async fn reserve(&mut self, len: usize, timers: &mut Timers) -> Result<Reservation, Stop> {
        let started = Instant::now();
        let reserved = tokio::select! {
            reserved = self.budget.reserve(len) => reserved,
            _ = self.shutdown.changed() => return Err(Stop::Shutdown),
            () = self.newcomer.evicted() => return Err(Stop::Evicted),
        };
        let waited = started.elapsed();
        if waited.as_millis() > 0 {
            debug!(len, ?waited, "waited for request memory");
        }
        timers.pause(waited);
        reserved.map_err(Stop::OverBudget)
    }

    /// Reads at most `limit` more bytes into `dst`, the start of a frame
    /// when it is not empty. Returns once some arrived, or the reason to
    /// stop; an idle deadline passing while requests are in flight just
    /// returns (nothing read) so the caller waits again.
    async fn read(
        &mut self,
        dst: &mut BytesMut,
        limit: usize,
        timers: &mut Timers,
    ) -> Result<(), Stop> {
        let now = Instant::now();
        if !dst.is_empty() {
            timers.frame_started(now);
        }
        let (deadline, expiry) = timers.next(now);
        let mut stream = (&mut self.stream).take(limit as u64);
        tokio::select! {
            read = stream.read_buf(dst) => match read {
                Ok(0) if dst.is_empty() => Err(Stop::PeerClosed),
                Ok(0) => Err(Stop::PeerClosedInFrame { buffered: dst.len() }),
                Ok(_) => Ok(()),
                Err(error) => Err(Stop::ReadFailed(error)),
            },
            _ = self.shutdown.changed() => Err(Stop::Shutdown),
            () = self.newcomer.evicted() => Err(Stop::Evicted),
            () = tokio::time::sleep_until(deadline) => match expiry {
                Expiry::Handshake => Err(Stop::HandshakeTimeout),
                Expiry::Frame => Err(Stop::FrameTimeout),
                Expiry::Idle if self.in_flight.load(Ordering::Acquire) > 0 => Ok(()),
                Expiry::Idle => Err(Stop::IdleTimeout),
            },
        }
    }

    /// Queues the reply of one request. Returns `false` when the writer is
    /// gone.
    async fn queue_reply(&mut self, answer: Answer<P::Ticket>) -> bool {
        self.context.stats.requests.fetch_add(1, Ordering::Relaxed);
        let Answer {
            ticket,
            reply,
            span,
        } = answer;
        let pending = match reply {
            Reply::NoResponse => return true,
            Reply::Ready(response) => Pending::Ready(response),
            Reply::Later(future) => {
                // A spawned task starts outside every span. Run it in the
                // request's, or, when that one is filtered out, in the
                // connection's (the current one), so what it logs still
                // names its connection.
                let span = if span.is_disabled() {
                    Span::current()
                } else {
                    span
                };
                Pending::Task {
                    ticket,
                    task: tokio::spawn(future.instrument(span.clone())),
                    span,
                }
            }
        };
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.queue.send(pending).await.is_ok()
    }
}

impl Stop {
    fn report(self, stats: &NetworkStats) {
        match self {
            Stop::PeerClosed => debug!("connection closed by peer"),
            Stop::PeerClosedInFrame { buffered } => {
                warn!(buffered, "peer closed the connection inside a frame");
            }
            Stop::ReadFailed(error) => debug!(%error, "read failed; closing connection"),
            Stop::Unframeable(error) => {
                warn!(%error, "unframeable request stream; closing connection");
                stats.connections_rejected.fetch_add(1, Ordering::Relaxed);
            }
            Stop::OverBudget(error) => {
                warn!(%error, "request frame cannot be read; closing connection");
                stats.connections_rejected.fetch_add(1, Ordering::Relaxed);
            }
            Stop::Shutdown | Stop::WriterGone => {}
            Stop::Evicted => {
                debug!("closed before its first request to admit a new connection");
            }
            Stop::HandshakeTimeout => {
                debug!("no request completed within the handshake timeout; closing connection");
                stats.handshake_timeouts.fetch_add(1, Ordering::Relaxed);
            }
            Stop::FrameTimeout => {
                warn!("frame not completed within the idle timeout; closing connection");
            }
            Stop::IdleTimeout => debug!("idle timeout; closing connection"),
        }
    }
}
