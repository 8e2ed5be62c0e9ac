//! One pipelined TCP connection to a broker.
//!
//! A request is framed by the caller's task, registered in the `pending`
//! table under a fresh correlation id, and queued to the **writer task**,
//! which writes frames in queue order (coalescing whatever is queued into
//! one flush). The **reader task** decodes response frames and completes
//! the pending entry with the matching correlation id. Any number of
//! requests may be outstanding; the broker answers in order, but matching
//! is by id, so it need not.
//!
//! Ordering guarantee used by the producer: frames reach the socket in the
//! order [`Connection::enqueue`] was called.
//!
//! Failure: the first I/O or protocol error on either task fails every
//! pending request and marks the connection closed; the client then opens a
//! new one for the next request. Dropping the [`Connection`] drops the
//! queue sender (the writer task then shuts the write half down) and aborts
//! the reader task.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use sluice_protocol::{ApiKey, ApiRequest, RequestHeader, frame, io};
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::error::{ClientError, Result};

/// Frames queued for the writer before `enqueue` waits. Bounds memory when
/// the socket is slower than the callers.
const WRITE_QUEUE: usize = 1024;
/// Write buffer; frames larger than this go to the socket directly.
const WRITE_BUFFER: usize = 64 * 1024;

/// A response: protobuf body and trailing bytes (records, for fetch).
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub body: Bytes,
    pub trailing: Bytes,
}

type Reply = oneshot::Sender<Result<RawResponse>>;

/// Requests awaiting a response, and whether the connection is dead.
#[derive(Debug, Default)]
struct Pending {
    waiting: HashMap<u32, Reply>,
    /// Set once; after that nothing is registered and the connection is
    /// replaced.
    failed: Option<ClientError>,
}

#[derive(Debug, Default)]
struct Shared {
    pending: Mutex<Pending>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock cannot leave the map half-updated
        // (every critical section is a single map operation), so a poisoned
        // lock is still usable.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks the connection dead and fails everything waiting on it.
    fn fail(&self, error: ClientError) {
        let waiting = {
            let mut pending = self.lock();
            if pending.failed.is_none() {
                pending.failed = Some(error.clone());
            }
            std::mem::take(&mut pending.waiting)
        };
        for (_, reply) in waiting {
            let _ = reply.send(Err(error.clone()));
        }
    }
}

/// A frame for the writer task. `written` is completed once the frame is
/// on the socket, for requests that get no response (produce with acks=0).
struct Outgoing {
    frame: Bytes,
    written: Option<oneshot::Sender<Result<()>>>,
}

/// One TCP connection; see the module docs.
#[derive(Debug)]
pub(crate) struct Connection {
    /// Queue to the writer task; dropping it ends the writer.
    queue: mpsc::Sender<Outgoing>,
    shared: Arc<Shared>,
    next_id: AtomicU32,
    client_id: String,
    reader: JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// A registered request whose response has not been awaited yet.
#[derive(Debug)]
pub(crate) struct PendingResponse {
    rx: oneshot::Receiver<Result<RawResponse>>,
    id: u32,
    api: ApiKey,
    timeout: Duration,
    shared: Arc<Shared>,
}

impl PendingResponse {
    /// Waits for the response, at most the request timeout.
    pub async fn wait(self) -> Result<RawResponse> {
        match tokio::time::timeout(self.timeout, self.rx).await {
            Ok(Ok(result)) => result,
            // The reply sender was dropped without an answer: the
            // connection went away.
            Ok(Err(_)) => Err(ClientError::Disconnected),
            Err(_) => {
                // A late response for this id will find no entry and be
                // dropped by the reader.
                self.shared.lock().waiting.remove(&self.id);
                Err(ClientError::Timeout {
                    api: self.api,
                    after: self.timeout,
                })
            }
        }
    }
}

/// Completes once a no-response request has been written.
#[derive(Debug)]
pub(crate) struct WriteAck(oneshot::Receiver<Result<()>>);

impl WriteAck {
    pub async fn wait(self) -> Result<()> {
        self.0.await.unwrap_or(Err(ClientError::Disconnected))
    }
}

impl Connection {
    /// Connects and starts the reader and writer tasks.
    pub async fn open(
        addr: &str,
        client_id: String,
        connect_timeout: Duration,
        max_frame: usize,
    ) -> Result<Connection> {
        let connect_error = |source: std::io::Error| ClientError::Connect {
            addr: addr.to_owned(),
            source: Arc::new(source),
        };
        let stream = match tokio::time::timeout(connect_timeout, TcpStream::connect(addr)).await {
            Ok(stream) => stream.map_err(connect_error)?,
            Err(_) => {
                return Err(connect_error(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no connection within {connect_timeout:?}"),
                )));
            }
        };
        stream.set_nodelay(true).map_err(connect_error)?;
        let (read_half, write_half) = stream.into_split();
        let shared = Arc::new(Shared::default());
        let (queue, rx) = mpsc::channel(WRITE_QUEUE);
        tokio::spawn(write_loop(write_half, rx, Arc::clone(&shared)));
        let reader = tokio::spawn(read_loop(read_half, Arc::clone(&shared), max_frame));
        tracing::debug!(addr, "connected to broker");
        Ok(Connection {
            queue,
            shared,
            next_id: AtomicU32::new(0),
            client_id,
            reader,
        })
    }

    /// True once the connection failed; it will not recover.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().failed.is_some() || self.queue.is_closed()
    }

    fn encode<R: ApiRequest>(&self, id: u32, body: &R) -> Result<Bytes> {
        let header = RequestHeader {
            api_key: R::API_KEY.as_u16(),
            api_version: 0,
            correlation_id: id,
            client_id: self.client_id.clone(),
        };
        let mut out = BytesMut::new();
        frame::encode_request_frame(&header, body, &mut out)?;
        Ok(out.freeze())
    }

    /// Queues a request and returns a handle to await its response. Frames
    /// are written in the order of `enqueue` calls.
    pub async fn enqueue<R: ApiRequest>(
        &self,
        body: &R,
        timeout: Duration,
    ) -> Result<PendingResponse> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = self.encode(id, body)?;
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = self.shared.lock();
            if let Some(e) = &pending.failed {
                return Err(e.clone());
            }
            pending.waiting.insert(id, tx);
        }
        let outgoing = Outgoing {
            frame,
            written: None,
        };
        if self.queue.send(outgoing).await.is_err() {
            self.shared.lock().waiting.remove(&id);
            return Err(ClientError::Disconnected);
        }
        Ok(PendingResponse {
            rx,
            id,
            api: R::API_KEY,
            timeout,
            shared: Arc::clone(&self.shared),
        })
    }

    /// Queues a request that gets no response (produce with acks=0).
    pub async fn enqueue_oneway<R: ApiRequest>(&self, body: &R) -> Result<WriteAck> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = self.encode(id, body)?;
        if let Some(e) = &self.shared.lock().failed {
            return Err(e.clone());
        }
        let (tx, rx) = oneshot::channel();
        let outgoing = Outgoing {
            frame,
            written: Some(tx),
        };
        self.queue
            .send(outgoing)
            .await
            .map_err(|_closed| ClientError::Disconnected)?;
        Ok(WriteAck(rx))
    }
}

/// Writes queued frames, flushing when the queue runs dry.
async fn write_loop(half: OwnedWriteHalf, mut rx: mpsc::Receiver<Outgoing>, shared: Arc<Shared>) {
    let mut writer = BufWriter::with_capacity(WRITE_BUFFER, half);
    let mut acks = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        let mut result = Ok(());
        while let Some(out) = next.take() {
            acks.extend(out.written);
            if let Err(e) = writer.write_all(&out.frame).await {
                result = Err(e);
                break;
            }
            next = rx.try_recv().ok();
        }
        if result.is_ok() {
            result = writer.flush().await;
        }
        match result {
            Ok(()) => {
                for ack in acks.drain(..) {
                    let _ = ack.send(Ok(()));
                }
            }
            Err(e) => {
                let error = ClientError::from(e);
                tracing::warn!(error = %error, "write to broker failed");
                shared.fail(error.clone());
                for ack in acks.drain(..) {
                    let _ = ack.send(Err(error.clone()));
                }
                return;
            }
        }
    }
    // Every sender is gone: the connection was dropped.
    let _ = writer.shutdown().await;
}

/// Reads response frames and completes the matching pending requests.
async fn read_loop(mut half: OwnedReadHalf, shared: Arc<Shared>, max_frame: usize) {
    let mut buf = BytesMut::new();
    loop {
        match io::read_response_frame(&mut half, &mut buf, max_frame).await {
            Ok(Some((header, body, trailing))) => {
                let reply = shared.lock().waiting.remove(&header.correlation_id);
                match reply {
                    Some(reply) => {
                        let _ = reply.send(Ok(RawResponse { body, trailing }));
                    }
                    None => tracing::debug!(
                        correlation_id = header.correlation_id,
                        "dropping response to a request that timed out"
                    ),
                }
            }
            Ok(None) => {
                tracing::debug!("broker closed the connection");
                shared.fail(ClientError::Disconnected);
                return;
            }
            Err(e) => {
                let error = ClientError::from(e);
                tracing::warn!(error = %error, "reading from broker failed");
                shared.fail(error);
                return;
            }
        }
    }
}
