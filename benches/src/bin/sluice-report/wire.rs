//! A blocking client for the native protocol (`docs/protocol.md`), used
//! where the report wants to measure the broker rather than a client:
//! admin calls, pre-built produce batches, and fetches whose record bytes
//! are streamed through a fixed buffer.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use bytes::{Bytes, BytesMut};
use prost::Message;
use sluice_protocol::frame::{self, RequestHeader};
use sluice_protocol::{ApiRequest, ApiResponse, ErrorCode, pb};
use sluice_record::{BATCH_HEADER_LEN, BatchHeader};

/// Offset of the correlation id in an encoded request frame
/// (`u32 frame_len | u16 api_key | u16 api_version | u32 correlation_id`).
pub const CORRELATION_ID_AT: usize = 8;

/// Encodes one request frame.
pub fn encode<R: ApiRequest>(correlation_id: u32, body: &R) -> Result<BytesMut> {
    let header = RequestHeader {
        api_key: R::API_KEY.as_u16(),
        api_version: 0,
        correlation_id,
        client_id: "sluice-report".into(),
    };
    let mut out = BytesMut::new();
    frame::encode_request_frame(&header, body, &mut out)?;
    Ok(out)
}

/// The head of a response frame: correlation id, decoded body bytes, and
/// how many trailing bytes follow on the stream.
#[derive(Debug)]
pub struct Head {
    pub correlation_id: u32,
    pub body: Bytes,
    pub trailing: u64,
}

/// Reads one response head from `stream`. The trailing bytes (fetch
/// records) are left on the stream for the caller.
pub fn read_head(stream: &mut impl Read) -> Result<Head> {
    let mut fixed = [0u8; 12];
    stream
        .read_exact(&mut fixed)
        .context("reading a response head")?;
    let frame_len = u64::from(u32::from_be_bytes([fixed[0], fixed[1], fixed[2], fixed[3]]));
    let correlation_id = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
    let body_len = u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]);
    let trailing = frame_len
        .checked_sub(8 + u64::from(body_len))
        .context("response body longer than its frame")?;
    let mut body = vec![0u8; body_len as usize];
    stream
        .read_exact(&mut body)
        .context("reading a response body")?;
    Ok(Head {
        correlation_id,
        body: Bytes::from(body),
        trailing,
    })
}

/// A connection for admin calls and fetches, one request at a time.
#[derive(Debug)]
pub struct Wire {
    pub stream: TcpStream,
    next_id: u32,
}

impl Wire {
    pub fn connect(addr: &str) -> Result<Wire> {
        let stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        // Bounds every blocking read: a stuck broker fails the report
        // instead of hanging it.
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Wire { stream, next_id: 1 })
    }

    pub fn next_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    /// Sends a request and returns its decoded response; a top-level error
    /// code is an error.
    pub fn request<R: ApiRequest>(&mut self, body: &R) -> Result<R::Response> {
        let id = self.next_id();
        let frame = encode(id, body)?;
        self.stream.write_all(&frame)?;
        let head = read_head(&mut self.stream)?;
        ensure!(head.correlation_id == id, "response to another request");
        ensure!(head.trailing == 0, "unexpected trailing bytes");
        let response = R::Response::decode(head.body)?;
        let code = response.top_level_error();
        if !code.is_ok() {
            bail!(
                "{:?} failed: {code:?} {}",
                R::API_KEY,
                response.error_message()
            );
        }
        Ok(response)
    }

    pub fn create_topic(&mut self, name: &str, segment_bytes: Option<u64>) -> Result<()> {
        self.create_topic_with(name, segment_bytes, -1)
    }

    /// A one-partition topic kept at about `retention_bytes` (-1: unbounded).
    pub fn create_topic_with(
        &mut self,
        name: &str,
        segment_bytes: Option<u64>,
        retention_bytes: i64,
    ) -> Result<()> {
        self.request(&pb::CreateTopicRequest {
            name: name.into(),
            partitions: 1,
            config: Some(pb::TopicConfig {
                segment_bytes,
                retention_ms: Some(-1),
                retention_bytes: Some(retention_bytes),
                ..Default::default()
            }),
        })?;
        Ok(())
    }

    pub fn delete_topic(&mut self, name: &str) -> Result<()> {
        self.request(&pb::DeleteTopicRequest { name: name.into() })?;
        Ok(())
    }

    /// The log end offset of partition 0 of `topic`.
    pub fn end_offset(&mut self, topic: &str) -> Result<i64> {
        let response = self.request(&pb::ListOffsetsRequest {
            partitions: vec![pb::ListOffsetsPartition {
                topic: topic.into(),
                partition: 0,
                timestamp: sluice_protocol::consts::LATEST_TIMESTAMP,
            }],
        })?;
        let p = response.partitions.first().context("no partition listed")?;
        ensure!(
            ErrorCode::from_wire(p.error_code).is_ok(),
            "list offsets: {:?}",
            ErrorCode::from_wire(p.error_code)
        );
        Ok(p.offset)
    }

    /// One fetch of partition 0 from `offset`, at most `max_bytes`,
    /// answered at once. Every record byte is read from the socket into
    /// `buf` (reused, so a fetch costs the receive copy and nothing more)
    /// and the batch headers are walked as they pass to find the next
    /// offset.
    pub fn fetch(
        &mut self,
        topic: &str,
        offset: i64,
        max_bytes: u32,
        buf: &mut [u8],
    ) -> Result<Fetched> {
        let id = self.next_id();
        let frame = encode(
            id,
            &pb::FetchRequest {
                max_wait_ms: 0,
                min_bytes: 0,
                max_bytes,
                partitions: vec![pb::FetchPartition {
                    topic: topic.into(),
                    partition: 0,
                    offset,
                    max_bytes,
                }],
            },
        )?;
        self.stream.write_all(&frame)?;
        let head = read_head(&mut self.stream)?;
        ensure!(head.correlation_id == id, "response to another request");
        let response = pb::FetchResponse::decode(head.body)?;
        let p = response.partitions.first().context("fetch: no partition")?;
        let code = ErrorCode::from_wire(p.error_code);
        ensure!(code.is_ok(), "fetch at {offset}: {code:?}");
        ensure!(
            u64::from(p.records_len) == head.trailing,
            "records_len {} but {} trailing bytes",
            p.records_len,
            head.trailing
        );
        let mut scanner = BatchScanner::default();
        let mut left = head.trailing;
        while left > 0 {
            let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
            let n = self.stream.read(&mut buf[..want])?;
            ensure!(n > 0, "broker closed the connection mid-fetch");
            scanner.feed(&buf[..n])?;
            left -= n as u64;
        }
        scanner.finish()?;
        Ok(Fetched {
            bytes: head.trailing,
            next_offset: scanner.next_offset.unwrap_or(offset),
            high_watermark: p.high_watermark,
        })
    }
}

/// What one fetch returned.
#[derive(Debug, Clone, Copy)]
pub struct Fetched {
    pub bytes: u64,
    pub next_offset: i64,
    pub high_watermark: i64,
}

/// Walks record batch headers over a byte stream that arrives in pieces of
/// any size; a header may straddle pieces.
#[derive(Debug)]
struct BatchScanner {
    /// Stream position of the next batch's first byte.
    next_batch_at: u64,
    /// Bytes fed so far.
    fed: u64,
    header: [u8; BATCH_HEADER_LEN],
    /// Header bytes of the next batch gathered so far.
    filled: usize,
    next_offset: Option<i64>,
}

impl Default for BatchScanner {
    fn default() -> Self {
        BatchScanner {
            next_batch_at: 0,
            fed: 0,
            header: [0; BATCH_HEADER_LEN],
            filled: 0,
            next_offset: None,
        }
    }
}

impl BatchScanner {
    fn feed(&mut self, piece: &[u8]) -> Result<()> {
        let start = self.fed;
        self.fed += piece.len() as u64;
        loop {
            // Everything before `next_batch_at + filled` was already used.
            let want_at = self.next_batch_at + self.filled as u64;
            if want_at >= self.fed {
                return Ok(());
            }
            let i = usize::try_from(want_at - start)?;
            let take = (BATCH_HEADER_LEN - self.filled).min(piece.len() - i);
            self.header[self.filled..self.filled + take].copy_from_slice(&piece[i..i + take]);
            self.filled += take;
            if self.filled == BATCH_HEADER_LEN {
                let header = BatchHeader::parse(&self.header)?;
                self.next_offset = Some(header.next_offset());
                self.next_batch_at += header.total_size() as u64;
                self.filled = 0;
            }
        }
    }

    /// The stream must end exactly at a batch boundary.
    fn finish(&self) -> Result<()> {
        ensure!(
            self.filled == 0 && self.next_batch_at == self.fed,
            "fetch ended inside a batch ({} of {} bytes)",
            self.fed,
            self.next_batch_at
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_record::BatchBuilder;

    #[test]
    fn scanner_follows_batches_across_any_split() {
        let mut stream = Vec::new();
        let mut offset = 0i64;
        for n in [1, 5, 3] {
            let mut b = BatchBuilder::new();
            for _ in 0..n {
                b.append(1, None, Some(&[7u8; 100]), &[]);
            }
            let mut bytes = b.build().to_vec();
            bytes[..8].copy_from_slice(&offset.to_be_bytes());
            offset += n;
            stream.extend_from_slice(&bytes);
        }
        for piece in [1, 7, 61, 64, 1000] {
            let mut s = BatchScanner::default();
            for chunk in stream.chunks(piece) {
                s.feed(chunk).unwrap();
            }
            s.finish().unwrap();
            assert_eq!(s.next_offset, Some(9), "piece {piece}");
        }
    }
}
