//! Writing a response: its bytes from memory, its file ranges with the
//! configured [`TransferMode`].
//!
//! Every mode goes through one function, `write_response`, so they can be compared on
//! the real server. The socket is tokio's non-blocking one: the zero-copy
//! modes wait for write readiness (`writable()`) and issue the system call
//! through `try_io`, which clears readiness on `EAGAIN`; short writes just
//! advance the file offset and go round again.

mod sys;

use std::fmt;
use std::io;
use std::os::unix::fs::FileExt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::fcntl::{OFlag, SpliceFFlags};
use nix::sys::socket::MsgFlags;
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;

use crate::file_range::FileRange;
use crate::handler::{Part, Response};

/// How the file ranges of a response (fetch records) go from the file to
/// the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TransferMode {
    /// `sendfile(2)`: file to socket inside the kernel. No user-space copy.
    #[default]
    Sendfile,
    /// `splice(2)`: file to a pipe to the socket. No user-space copy.
    Splice,
    /// Map the file read-only and `write` from the mapping: one copy, from
    /// the page cache into the socket buffer.
    Mmap,
    /// `pread` into a buffer, then `write`: two copies. The baseline.
    Read,
}

impl TransferMode {
    /// Every mode.
    pub const ALL: [TransferMode; 4] = [
        TransferMode::Sendfile,
        TransferMode::Splice,
        TransferMode::Mmap,
        TransferMode::Read,
    ];

    /// Whether the mode hands the socket page-cache pages by reference (`sendfile`, `splice`):
    /// the socket then holds those pages until the peer has the bytes, long after the call
    /// returned, so the bytes of a sent file must never be overwritten in place.
    pub fn is_zero_copy(self) -> bool {
        matches!(self, TransferMode::Sendfile | TransferMode::Splice)
    }

    /// The name used in configuration and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferMode::Sendfile => "sendfile",
            TransferMode::Splice => "splice",
            TransferMode::Mmap => "mmap",
            TransferMode::Read => "read",
        }
    }
}

impl fmt::Display for TransferMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown transfer mode name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownTransferMode(pub String);

impl fmt::Display for UnknownTransferMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown transfer mode {:?} (expected sendfile, splice, mmap or read)",
            self.0
        )
    }
}

impl std::error::Error for UnknownTransferMode {}

impl FromStr for TransferMode {
    type Err = UnknownTransferMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TransferMode::ALL
            .into_iter()
            .find(|mode| mode.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownTransferMode(s.to_owned()))
    }
}

/// Counters of one server, shared with its connections. Tests read them to
/// prove which path the bytes took; the broker logs them at shutdown.
#[derive(Debug, Default)]
pub struct NetworkStats {
    sendfile_bytes: AtomicU64,
    splice_bytes: AtomicU64,
    mmap_bytes: AtomicU64,
    read_bytes: AtomicU64,
    /// Connections accepted since start.
    pub connections_accepted: AtomicU64,
    /// Connections currently open.
    pub connections_open: AtomicU64,
    /// Connections closed because their byte stream could not be framed.
    pub connections_rejected: AtomicU64,
    /// Connections closed before their first request to admit a new one
    /// at the connection limit.
    pub connections_evicted: AtomicU64,
    /// Connections closed for completing no request within the handshake
    /// timeout.
    pub handshake_timeouts: AtomicU64,
    /// Requests handed to the handler.
    pub requests: AtomicU64,
}

impl NetworkStats {
    /// Trailing record bytes sent with `mode` so far.
    pub fn transfer_bytes(&self, mode: TransferMode) -> u64 {
        self.counter(mode).load(Ordering::Relaxed)
    }

    fn counter(&self, mode: TransferMode) -> &AtomicU64 {
        match mode {
            TransferMode::Sendfile => &self.sendfile_bytes,
            TransferMode::Splice => &self.splice_bytes,
            TransferMode::Mmap => &self.mmap_bytes,
            TransferMode::Read => &self.read_bytes,
        }
    }

    fn add(&self, mode: TransferMode, bytes: usize) {
        self.counter(mode)
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

impl fmt::Display for NetworkStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        write!(
            f,
            "sendfile={} splice={} mmap={} read={} bytes; connections accepted={} rejected={} evicted={} handshake_timeouts={}; requests={}",
            load(&self.sendfile_bytes),
            load(&self.splice_bytes),
            load(&self.mmap_bytes),
            load(&self.read_bytes),
            load(&self.connections_accepted),
            load(&self.connections_rejected),
            load(&self.connections_evicted),
            load(&self.handshake_timeouts),
            load(&self.requests),
        )
    }
}

/// Largest count passed to one `sendfile`/`splice` call.
const MAX_CHUNK: usize = 1 << 30;
/// Buffer size of the `read` mode.
const READ_BUF: usize = 256 * 1024;

/// Writes one response: its parts in order, bytes from memory and file
/// ranges with `mode`. Native and Kafka responses both come through here,
/// so every record byte of either protocol is counted in `stats`.
pub(crate) async fn write_response(
    stream: &mut OwnedWriteHalf,
    response: &Response,
    mode: TransferMode,
    stats: &NetworkStats,
) -> io::Result<()> {
    let parts = response.parts();
    let Some(last) = parts.iter().rposition(|part| !part.is_empty()) else {
        return Ok(());
    };
    for (index, part) in parts.iter().enumerate().take(last + 1) {
        match part {
            Part::Bytes(bytes) if bytes.is_empty() => {}
            // MSG_MORE: let the kernel hold small encoded pieces back until
            // the records follow, instead of sending packets of their own.
            Part::Bytes(bytes) if index < last => send_more(stream.as_ref(), bytes).await?,
            Part::Bytes(bytes) => stream.write_all(bytes).await?,
            Part::File(range) if range.len == 0 => {}
            Part::File(range) => send_range(stream, range, mode, stats).await?,
        }
    }
    Ok(())
}

async fn send_range(
    stream: &mut OwnedWriteHalf,
    range: &FileRange,
    mode: TransferMode,
    stats: &NetworkStats,
) -> io::Result<()> {
    match mode {
        TransferMode::Sendfile => send_sendfile(stream.as_ref(), range, stats).await,
        TransferMode::Splice => send_splice(stream.as_ref(), range, stats).await,
        TransferMode::Mmap => {
            let map = sys::map_range(range)?;
            stream.write_all(&map).await?;
            stats.add(TransferMode::Mmap, map.len());
            Ok(())
        }
        TransferMode::Read => send_read(stream, range, stats).await,
    }
}

async fn send_more(socket: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        socket.writable().await?;
        match socket.try_io(Interest::WRITABLE, || {
            nix::sys::socket::send(
                std::os::fd::AsRawFd::as_raw_fd(socket),
                bytes,
                MsgFlags::from_bits_retain(nix::libc::MSG_MORE) | MsgFlags::MSG_NOSIGNAL,
            )
            .map_err(io::Error::from)
        }) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The `[offset, offset + len)` bounds of a range as `off_t` values.
fn off_t_bounds(range: &FileRange) -> io::Result<(i64, i64)> {
    let start = i64::try_from(range.offset).map_err(io::Error::other)?;
    let len = i64::try_from(range.len).map_err(io::Error::other)?;
    let end = start
        .checked_add(len)
        .ok_or_else(|| io::Error::other("file range end overflows"))?;
    Ok((start, end))
}

fn short_file() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "file ended before the end of the range to send",
    )
}

async fn send_sendfile(
    socket: &TcpStream,
    range: &FileRange,
    stats: &NetworkStats,
) -> io::Result<()> {
    let (mut offset, end) = off_t_bounds(range)?;
    while offset < end {
        let count = usize::try_from(end - offset)
            .unwrap_or(MAX_CHUNK)
            .min(MAX_CHUNK);
        socket.writable().await?;
        // sendfile advances `offset` itself and never moves the file's own
        // position, so the shared `Arc<File>` stays usable by other readers.
        match socket.try_io(Interest::WRITABLE, || {
            nix::sys::sendfile::sendfile(socket, &*range.file, Some(&mut offset), count)
                .map_err(io::Error::from)
        }) {
            Ok(0) => return Err(short_file()),
            Ok(n) => stats.add(TransferMode::Sendfile, n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn send_splice(
    socket: &TcpStream,
    range: &FileRange,
    stats: &NetworkStats,
) -> io::Result<()> {
    let (mut offset, end) = off_t_bounds(range)?;
    // One pipe per range; both ends close when dropped.
    let (pipe_read, pipe_write) =
        nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    let flags = SpliceFFlags::SPLICE_F_MOVE | SpliceFFlags::SPLICE_F_NONBLOCK;
    while offset < end {
        let count = usize::try_from(end - offset)
            .unwrap_or(MAX_CHUNK)
            .min(MAX_CHUNK);
        // File to pipe: never blocks on the (empty) pipe, reads the page cache.
        let mut in_pipe = nix::fcntl::splice(
            &*range.file,
            Some(&mut offset),
            &pipe_write,
            None,
            count,
            flags,
        )
        .map_err(io::Error::from)?;
        if in_pipe == 0 {
            return Err(short_file());
        }
        // Pipe to socket, waiting for write readiness.
        while in_pipe > 0 {
            socket.writable().await?;
            match socket.try_io(Interest::WRITABLE, || {
                nix::fcntl::splice(&pipe_read, None, socket, None, in_pipe, flags)
                    .map_err(io::Error::from)
            }) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => {
                    in_pipe -= n;
                    stats.add(TransferMode::Splice, n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

async fn send_read(
    stream: &mut OwnedWriteHalf,
    range: &FileRange,
    stats: &NetworkStats,
) -> io::Result<()> {
    let mut buf = vec![0u8; READ_BUF.min(usize::try_from(range.len).unwrap_or(READ_BUF))];
    let mut position = range.offset;
    let end = range.end()?;
    while position < end {
        let want = buf
            .len()
            .min(usize::try_from(end - position).unwrap_or(buf.len()));
        // pread: the data sits below the high watermark, normally in the
        // page cache, so this is a memory copy rather than a disk wait.
        let n = range.file.read_at(&mut buf[..want], position)?;
        if n == 0 {
            return Err(short_file());
        }
        stream.write_all(&buf[..n]).await?;
        stats.add(TransferMode::Read, n);
        position += n as u64;
    }
    Ok(())
}
