//! The machine's limit: a plain program that pushes segment file bytes to a
//! loopback TCP socket with each transfer mode, in chunks of the fetch size,
//! while a receiver thread reads them into a 1 MiB buffer and discards them.
//!
//! Nothing of the broker is involved: no framing, no requests, no async
//! runtime, blocking sockets. The same sealed segment files the broker
//! serves are used, from the page cache.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use nix::fcntl::{FcntlArg, SpliceFFlags, fcntl, splice};

use crate::cpu;

/// A transfer mode, as the broker's `--transfer-mode` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Read,
    Mmap,
    Sendfile,
    Splice,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Read, Mode::Mmap, Mode::Sendfile, Mode::Splice];

    /// The broker's name for the mode.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Read => "read",
            Mode::Mmap => "mmap",
            Mode::Sendfile => "sendfile",
            Mode::Splice => "splice",
        }
    }

    /// What the raw program does in this mode.
    pub fn raw_label(self) -> &'static str {
        match self {
            Mode::Read => "pread+write",
            Mode::Mmap => "mmap+write",
            Mode::Sendfile => "sendfile",
            Mode::Splice => "splice",
        }
    }

    pub fn index(self) -> usize {
        match self {
            Mode::Read => 0,
            Mode::Mmap => 1,
            Mode::Sendfile => 2,
            Mode::Splice => 3,
        }
    }
}

/// Sealed segment files of one partition, opened for reading.
#[derive(Debug)]
pub struct Segments {
    files: Vec<(File, u64)>,
    pub total: u64,
}

impl Segments {
    /// Every `.log` of `partition_dir` except the last (the active segment,
    /// preallocated past its data).
    pub fn sealed(partition_dir: &Path) -> Result<Segments> {
        let mut paths: Vec<_> = std::fs::read_dir(partition_dir)
            .with_context(|| format!("listing {}", partition_dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        paths.sort();
        paths.pop();
        ensure!(!paths.is_empty(), "no sealed segment to push");
        let mut files = Vec::new();
        let mut total = 0;
        for path in paths {
            let file = File::open(&path)?;
            let len = file.metadata()?.len();
            total += len;
            files.push((file, len));
        }
        Ok(Segments { files, total })
    }
}

/// One raw transfer.
#[derive(Debug, Clone, Copy)]
pub struct RawRun {
    pub bytes: u64,
    pub secs: f64,
    /// CPU seconds of the sending thread.
    pub sender_cpu: f64,
    /// CPU seconds of the receiving thread.
    pub receiver_cpu: f64,
}

/// The receive buffer: what a consumer that discards its data needs.
pub const RECEIVE_BUFFER: usize = 1 << 20;

/// Pushes every sealed segment through a loopback connection with `mode`,
/// `chunk` bytes per system call (per pread, write, sendfile or splice),
/// `passes` times over, stopping early after `cap`.
pub fn push(
    segments: &Segments,
    mode: Mode,
    chunk: usize,
    passes: usize,
    cap: Duration,
) -> Result<RawRun> {
    // The first segment is sent once untimed on the same connection, so
    // the timed part runs with TCP's windows and buffers grown, as on the
    // broker's long-lived consumer connection.
    let warm_up = segments.files.first().map_or(0, |(_, len)| *len);
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let (warm_tx, warm_rx) = mpsc::channel::<()>();
    let receiver = std::thread::spawn(move || -> Result<(u64, Instant, f64)> {
        let (mut stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let mut buf = vec![1u8; RECEIVE_BUFFER];
        let mut got = 0u64;
        while got < warm_up {
            let want = buf.len().min(usize::try_from(warm_up - got)?);
            let n = stream.read(&mut buf[..want])?;
            ensure!(n > 0, "raw sender closed during the warm-up");
            got += n as u64;
        }
        let _ = warm_tx.send(());
        let (received, cpu) = cpu::measure(|| -> Result<(u64, Instant)> {
            let mut bytes = 0u64;
            loop {
                let n = stream.read(&mut buf)?;
                if n == 0 {
                    return Ok((bytes, Instant::now()));
                }
                bytes += n as u64;
            }
        });
        let (bytes, end) = received?;
        Ok((bytes, end, cpu))
    });
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    // The read mode's buffer, allocated and touched before the clock starts.
    let mut buf = if mode == Mode::Read {
        vec![1u8; chunk]
    } else {
        Vec::new()
    };
    let mut send = |(file, len): &(File, u64)| -> Result<u64> {
        match mode {
            Mode::Read => send_read(&mut stream, file, *len, &mut buf),
            Mode::Mmap => send_mmap(&mut stream, file, *len, chunk),
            Mode::Sendfile => send_sendfile(&stream, file, *len, chunk),
            Mode::Splice => send_splice(&stream, file, *len, chunk),
        }
    };
    if let Some(first) = segments.files.first() {
        send(first)?;
    }
    if warm_rx.recv_timeout(Duration::from_secs(60)).is_err() {
        bail!("raw receiver did not finish the warm-up");
    }
    let start = Instant::now();
    let deadline = start + cap;
    let (sent, sender_cpu) = cpu::measure(|| -> Result<u64> {
        let mut sent = 0;
        for segment in std::iter::repeat_n(&segments.files, passes).flatten() {
            if Instant::now() > deadline {
                break;
            }
            sent += send(segment)?;
        }
        Ok(sent)
    });
    let sent = sent?;
    stream.shutdown(Shutdown::Write)?;
    let (received, end, receiver_cpu) = match receiver.join() {
        Ok(result) => result?,
        Err(_) => bail!("raw receiver thread panicked"),
    };
    ensure!(received == sent, "sent {sent} bytes, received {received}");
    Ok(RawRun {
        bytes: received,
        secs: (end - start).as_secs_f64(),
        sender_cpu,
        receiver_cpu,
    })
}

fn send_read(stream: &mut TcpStream, file: &File, len: u64, buf: &mut [u8]) -> Result<u64> {
    let mut pos = 0;
    while pos < len {
        let n = buf.len().min(usize::try_from(len - pos)?);
        file.read_exact_at(&mut buf[..n], pos)?;
        stream.write_all(&buf[..n])?;
        pos += n as u64;
    }
    Ok(len)
}

fn send_mmap(stream: &mut TcpStream, file: &File, len: u64, chunk: usize) -> Result<u64> {
    // Mapped per file inside the timed region, so page-table set-up and
    // the minor faults on first touch are counted, as the broker's
    // per-fetch mapping pays them.
    // SAFETY: sealed segments are never written or truncated while the
    // broker is stopped or serving them (retention is off for the topic),
    // so the mapped bytes do not change or vanish while mapped.
    let map = unsafe { memmap2::Mmap::map(file)? };
    ensure!(map.len() as u64 == len, "segment changed size");
    for piece in map.chunks(chunk) {
        stream.write_all(piece)?;
    }
    Ok(len)
}

fn send_sendfile(stream: &TcpStream, file: &File, len: u64, chunk: usize) -> Result<u64> {
    let mut offset: i64 = 0;
    let end = i64::try_from(len)?;
    while offset < end {
        let count = chunk.min(usize::try_from(end - offset)?);
        let n = nix::sys::sendfile::sendfile(stream, file, Some(&mut offset), count)?;
        ensure!(n > 0, "sendfile: file ended early");
    }
    Ok(len)
}

fn send_splice(stream: &TcpStream, file: &File, len: u64, chunk: usize) -> Result<u64> {
    let (pipe_read, pipe_write) = nix::unistd::pipe()?;
    // A pipe holds 64 KiB by default; let it hold a whole chunk, up to the
    // unprivileged maximum, so a chunk moves in as few calls as possible.
    let max = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(1 << 20);
    let size = i32::try_from(chunk.min(max)).unwrap_or(i32::MAX);
    fcntl(&pipe_write, FcntlArg::F_SETPIPE_SZ(size))?;
    let flags = SpliceFFlags::SPLICE_F_MOVE;
    let mut offset: i64 = 0;
    let end = i64::try_from(len)?;
    while offset < end {
        let count = chunk.min(usize::try_from(end - offset)?);
        let mut in_pipe = splice(file, Some(&mut offset), &pipe_write, None, count, flags)?;
        ensure!(in_pipe > 0, "splice: file ended early");
        while in_pipe > 0 {
            let n = splice(&pipe_read, None, stream, None, in_pipe, flags)?;
            ensure!(n > 0, "splice: socket took nothing");
            in_pipe -= n;
        }
    }
    Ok(len)
}

/// Bytes of the stand-in request the paced receiver sends before each chunk: about what a
/// one-partition native fetch request takes on the wire.
const PACED_REQUEST: usize = 48;
/// The stand-in response head: a length, as the broker's head carries.
const PACED_HEAD: usize = 4;

/// Like [`push`] with sendfile, but in a consumer's rhythm: the receiver sends a small request,
/// the sender reads it, answers with a small head (`MSG_MORE`, as the broker sends its head) and
/// one chunk, and the receiver reads both before it asks again. One fetch at a time, as the
/// broker's consumer does, and still nothing of the broker: no framing, no decoding, no runtime.
/// What it costs beyond [`push`] is the price of the request/response rhythm itself: a wake-up
/// and a small read on each side per chunk.
pub fn push_paced(
    segments: &Segments,
    chunk: usize,
    passes: usize,
    cap: Duration,
) -> Result<RawRun> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let receiver = std::thread::spawn(move || -> Result<(u64, f64)> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let mut buf = vec![1u8; RECEIVE_BUFFER];
        let request = [7u8; PACED_REQUEST];
        let (bytes, cpu) = cpu::measure(|| -> Result<u64> {
            let mut bytes = 0u64;
            loop {
                stream.write_all(&request)?;
                let mut head = [0u8; PACED_HEAD];
                if let Err(e) = stream.read_exact(&mut head) {
                    // The sender closes instead of answering once it is done.
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                    ) {
                        return Ok(bytes);
                    }
                    return Err(e.into());
                }
                let mut left = u64::from(u32::from_be_bytes(head));
                while left > 0 {
                    let want = buf.len().min(usize::try_from(left)?);
                    let n = stream.read(&mut buf[..want])?;
                    ensure!(n > 0, "paced sender closed mid-chunk");
                    left -= n as u64;
                    bytes += n as u64;
                }
            }
        });
        Ok((bytes?, cpu))
    });
    let (mut stream, _) = listener.accept()?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let start = Instant::now();
    let deadline = start + cap;
    let (sent, sender_cpu) = cpu::measure(|| -> Result<u64> {
        let mut sent = 0u64;
        let mut request = [0u8; PACED_REQUEST];
        for (file, len) in std::iter::repeat_n(&segments.files, passes).flatten() {
            let end = i64::try_from(*len)?;
            let mut offset: i64 = 0;
            while offset < end {
                if Instant::now() > deadline {
                    return Ok(sent);
                }
                stream.read_exact(&mut request)?;
                let count = chunk.min(usize::try_from(end - offset)?);
                let head = u32::try_from(count)?.to_be_bytes();
                let more = nix::sys::socket::MsgFlags::from_bits_retain(nix::libc::MSG_MORE);
                let n =
                    nix::sys::socket::send(std::os::fd::AsRawFd::as_raw_fd(&stream), &head, more)?;
                ensure!(n == head.len(), "short head write");
                let mut left = count;
                while left > 0 {
                    let n = nix::sys::sendfile::sendfile(&stream, file, Some(&mut offset), left)?;
                    ensure!(n > 0, "sendfile: file ended early");
                    left -= n;
                }
                sent += count as u64;
            }
        }
        Ok(sent)
    });
    let sent = sent?;
    let secs = start.elapsed().as_secs_f64();
    stream.shutdown(Shutdown::Both)?;
    let (received, receiver_cpu) = match receiver.join() {
        Ok(result) => result?,
        Err(_) => bail!("paced receiver thread panicked"),
    };
    ensure!(received == sent, "sent {sent} bytes, received {received}");
    Ok(RawRun {
        bytes: received,
        secs,
        sender_cpu,
        receiver_cpu,
    })
}
