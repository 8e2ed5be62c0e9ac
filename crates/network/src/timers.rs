//! When a connection that is waiting for bytes gets closed, and why.
//!
//! Three clocks, whichever runs out first:
//!
//! - **handshake**: a connection must complete its first request within the
//!   handshake timeout of being served, so connections that never send one
//!   (idle, trickling, half-open) give their slot back quickly;
//! - **frame**: a frame must arrive whole within the idle timeout of its
//!   first bytes; progress does not extend it, so a peer trickling a byte
//!   at a time cannot hold a connection and its buffer forever;
//! - **idle**: with nothing buffered, the connection closes after the idle
//!   timeout, unless requests are still in flight (then it is not idle).
//!
//! Time spent waiting for request memory ([`Timers::pause`]) counts against
//! no clock: that wait is the server's doing, not the peer's.

use std::time::Duration;

use tokio::time::Instant;

/// The clock that ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    Handshake,
    Frame,
    Idle,
}

/// The clocks of one connection's reader.
#[derive(Debug, Clone)]
pub(crate) struct Timers {
    idle_timeout: Duration,
    /// When the handshake timeout runs out; `None` once a request is complete.
    handshake: Option<Instant>,
    /// When the first bytes of the frame being read arrived; `None` between frames.
    frame_since: Option<Instant>,
}

impl Timers {
    pub(crate) fn new(now: Instant, handshake_timeout: Duration, idle_timeout: Duration) -> Timers {
        Timers {
            idle_timeout,
            handshake: Some(now + handshake_timeout),
            frame_since: None,
        }
    }

    /// Bytes of a frame are buffered; its clock starts now unless it runs already.
    pub(crate) fn frame_started(&mut self, now: Instant) {
        self.frame_since.get_or_insert(now);
    }

    /// A whole frame arrived: the next one has its own clock, and the
    /// connection has completed a request.
    pub(crate) fn frame_done(&mut self) {
        self.frame_since = None;
        self.handshake = None;
    }

    /// The connection waited `waited` for request memory: move the running
    /// clocks on by as much.
    pub(crate) fn pause(&mut self, waited: Duration) {
        if let Some(deadline) = &mut self.handshake {
            *deadline += waited;
        }
        if let Some(since) = &mut self.frame_since {
            *since += waited;
        }
    }

    /// The earliest deadline if no bytes arrive from `now` on, and its clock.
    pub(crate) fn next(&self, now: Instant) -> (Instant, Expiry) {
        let other = match self.frame_since {
            Some(since) => (since + self.idle_timeout, Expiry::Frame),
            None => (now + self.idle_timeout, Expiry::Idle),
        };
        match self.handshake {
            Some(handshake) if handshake <= other.0 => (handshake, Expiry::Handshake),
            _ => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_new_connection_has_the_handshake_timeout() {
        let t0 = Instant::now();
        let timers = Timers::new(t0, 10 * S, 600 * S);
        assert_eq!(timers.next(t0 + 3 * S), (t0 + 10 * S, Expiry::Handshake));
    }

    #[test]
    fn trickling_does_not_extend_the_frame_or_the_handshake() {
        let t0 = Instant::now();
        let mut timers = Timers::new(t0, 10 * S, 5 * S);
        timers.frame_started(t0 + S);
        timers.frame_started(t0 + 3 * S);
        assert_eq!(timers.next(t0 + 4 * S), (t0 + 6 * S, Expiry::Frame));
        let mut slow = Timers::new(t0, 10 * S, 600 * S);
        slow.frame_started(t0 + S);
        assert_eq!(slow.next(t0 + 9 * S), (t0 + 10 * S, Expiry::Handshake));
    }

    #[test]
    fn after_the_first_request_only_frame_and_idle_clocks_run() {
        let t0 = Instant::now();
        let mut timers = Timers::new(t0, 10 * S, 600 * S);
        timers.frame_started(t0 + S);
        timers.frame_done();
        assert_eq!(timers.next(t0 + 20 * S), (t0 + 620 * S, Expiry::Idle));
        timers.frame_started(t0 + 30 * S);
        assert_eq!(timers.next(t0 + 40 * S), (t0 + 630 * S, Expiry::Frame));
    }

    #[test]
    fn waiting_for_memory_counts_against_no_clock() {
        let t0 = Instant::now();
        let mut timers = Timers::new(t0, 10 * S, 5 * S);
        timers.frame_started(t0 + S);
        timers.pause(60 * S);
        assert_eq!(timers.next(t0 + 61 * S), (t0 + 66 * S, Expiry::Frame));
        let mut quiet = Timers::new(t0, 10 * S, 600 * S);
        quiet.pause(60 * S);
        assert_eq!(quiet.next(t0 + 61 * S), (t0 + 70 * S, Expiry::Handshake));
    }
}
