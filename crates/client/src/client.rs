//! [`Client`]: a handle on one broker connection, shared by clones.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sluice_protocol::{ApiRequest, ApiResponse, consts, pb, records};
use tokio::sync::Mutex;

use crate::connection::{Connection, PendingResponse, WriteAck};
use crate::error::{ClientError, Result};

/// The broker address the examples and the CLI use by default.
pub const DEFAULT_BROKER: &str = "127.0.0.1:9393";

/// Settings of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Sent in every request header, for the broker's logs.
    pub client_id: String,
    /// How long a request may wait for its response. Fetches add their
    /// `max_wait` on top.
    pub request_timeout: Duration,
    /// How long opening the TCP connection may take.
    pub connect_timeout: Duration,
    /// Largest response frame accepted.
    pub max_frame: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            client_id: "sluice-client".into(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_frame: consts::DEFAULT_MAX_FRAME,
        }
    }
}

/// A connection to one broker, with typed admin and metadata calls (see
/// the `admin` methods) and the plumbing the [`Producer`](crate::Producer)
/// and [`Consumer`](crate::Consumer) use.
///
/// Cheap to clone: clones share the connection. Requests from any clone
/// are pipelined on it. When the connection fails, outstanding requests
/// fail with a retriable error and the next request reconnects.
///
/// ```no_run
/// # async fn demo() -> Result<(), sluice_client::ClientError> {
/// use sluice_client::{Client, TopicConfig};
///
/// let client = Client::connect("127.0.0.1:9393").await?;
/// client.create_topic("orders", 3, TopicConfig::default()).await?;
/// for topic in client.list_topics().await? {
///     println!("{} has {} partitions", topic.name, topic.partitions.len());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    addr: String,
    config: ClientConfig,
    /// The live connection; replaced when it has failed. An async mutex
    /// because reconnecting awaits while holding it, so concurrent callers
    /// wait for one reconnect instead of racing several.
    conn: Mutex<Option<Arc<Connection>>>,
}

impl Client {
    /// Connects to the broker at `addr` (`host:port`) with default settings.
    pub async fn connect(addr: impl Into<String>) -> Result<Client> {
        Self::connect_with(addr, ClientConfig::default()).await
    }

    /// Connects with explicit settings.
    pub async fn connect_with(addr: impl Into<String>, config: ClientConfig) -> Result<Client> {
        let client = Client {
            inner: Arc::new(Inner {
                addr: addr.into(),
                config,
                conn: Mutex::new(None),
            }),
        };
        client.connection().await?;
        Ok(client)
    }

    /// A handle on the same broker with its own connection, opened on first
    /// use. The broker answers a connection's requests in order, so a
    /// request that waits (a long-poll fetch) holds up everything queued
    /// behind it; the [`Consumer`](crate::Consumer) therefore fetches on a
    /// dedicated connection, and benchmarks may want one per producer.
    pub fn dedicated(&self) -> Client {
        Client {
            inner: Arc::new(Inner {
                addr: self.inner.addr.clone(),
                config: self.inner.config.clone(),
                conn: Mutex::new(None),
            }),
        }
    }

    /// The broker address this client connects to.
    pub fn addr(&self) -> &str {
        &self.inner.addr
    }

    /// The settings this client was made with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The live connection, opening a new one if there is none or the last
    /// one failed.
    async fn connection(&self) -> Result<Arc<Connection>> {
        let mut slot = self.inner.conn.lock().await;
        if let Some(conn) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(Arc::clone(conn));
        }
        let config = &self.inner.config;
        let conn = Arc::new(
            Connection::open(
                &self.inner.addr,
                config.client_id.clone(),
                config.connect_timeout,
                config.max_frame,
            )
            .await?,
        );
        *slot = Some(Arc::clone(&conn));
        Ok(conn)
    }

    /// Queues a request; the returned handle awaits the response. Requests
    /// queued by one task reach the broker in the order queued.
    pub(crate) async fn enqueue<R: ApiRequest>(
        &self,
        body: &R,
        extra_timeout: Duration,
    ) -> Result<PendingResponse> {
        let timeout = self.inner.config.request_timeout + extra_timeout;
        self.connection().await?.enqueue(body, timeout).await
    }

    /// Queues a request that gets no response (produce with acks=0).
    pub(crate) async fn enqueue_oneway<R: ApiRequest>(&self, body: &R) -> Result<WriteAck> {
        self.connection().await?.enqueue_oneway(body).await
    }

    /// Sends any request and returns its decoded response, failing with
    /// [`ClientError::Broker`] when the response's top-level error code is
    /// set. The typed methods are built on this; it is public as an escape
    /// hatch for tools and tests. Not for a produce with `acks = 0`, which
    /// gets no response (it would wait out the request timeout); the
    /// [`Producer`](crate::Producer) handles that case.
    pub async fn request<R: ApiRequest>(&self, body: R) -> Result<R::Response> {
        let raw = self.enqueue(&body, Duration::ZERO).await?.wait().await?;
        decode_checked::<R::Response>(raw.body)
    }

    /// Sends a request and decodes its response without turning the
    /// top-level error code into an error (a JoinGroup's
    /// `MEMBER_ID_REQUIRED` carries the id to use). `extra_timeout` is
    /// added to the request timeout, for requests that wait (JoinGroup
    /// waits for the rebalance).
    pub(crate) async fn request_unchecked<R: ApiRequest>(
        &self,
        body: &R,
        extra_timeout: Duration,
    ) -> Result<R::Response> {
        let raw = self.enqueue(body, extra_timeout).await?.wait().await?;
        Ok(<R::Response as prost::Message>::decode(raw.body)?)
    }

    /// Sends a fetch and returns the response with each partition's record
    /// bytes (in the order of `response.partitions`). The request timeout is
    /// extended by the fetch's `max_wait_ms`.
    pub async fn fetch(&self, body: pb::FetchRequest) -> Result<(pb::FetchResponse, Vec<Bytes>)> {
        let long_poll = Duration::from_millis(body.max_wait_ms.into());
        let raw = self.enqueue(&body, long_poll).await?.wait().await?;
        let response = decode_checked::<pb::FetchResponse>(raw.body)?;
        let slices = records::split_records(&response, raw.trailing)?;
        Ok((response, slices))
    }
}

/// Decodes a response body and turns a top-level error code into an error.
pub(crate) fn decode_checked<T: ApiResponse>(body: Bytes) -> Result<T> {
    let response = T::decode(body)?;
    let code = response.top_level_error();
    if code.is_ok() {
        Ok(response)
    } else {
        Err(ClientError::Broker {
            code,
            message: response.error_message().to_owned(),
        })
    }
}
