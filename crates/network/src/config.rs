//! Server limits and the transfer mode.

use std::time::Duration;

use sluice_protocol::consts::DEFAULT_MAX_FRAME;

use crate::transfer::TransferMode;

/// Settings of [`crate::server::run`]. Every limit is per server except
/// `max_in_flight`, which is per connection. The request memory budget is
/// not here: it is a [`crate::RequestBudget`] handed to each listener that
/// shares it.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Connections served at once. At the limit a new client is admitted
    /// by closing the oldest connection that has not completed a request
    /// yet; when every connection has, new clients wait in the listen
    /// backlog until one closes.
    pub max_connections: usize,
    /// Largest request `frame_len` accepted; a larger one closes the
    /// connection before any buffer is sized for it.
    pub max_frame_bytes: usize,
    /// A connection with nothing in flight that sends nothing for this long
    /// is closed. Also bounds how long one response may take to write to a
    /// peer that stopped reading.
    pub idle_timeout: Duration,
    /// A new connection must complete its first request within this long
    /// (time spent waiting for request memory not counted), or it is
    /// closed: connections that never send a request give their slot back.
    pub handshake_timeout: Duration,
    /// Requests of one connection whose responses are not yet written. When
    /// reached, the server stops reading from that connection (back
    /// pressure) until the oldest response has left.
    pub max_in_flight: usize,
    /// How trailing fetch records are sent.
    pub transfer_mode: TransferMode,
    /// After shutdown is signalled, how long connections get to finish their
    /// in-flight requests before they are aborted.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_connections: 1024,
            max_frame_bytes: DEFAULT_MAX_FRAME,
            idle_timeout: Duration::from_secs(600),
            handshake_timeout: Duration::from_secs(10),
            max_in_flight: 128,
            transfer_mode: TransferMode::default(),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}
