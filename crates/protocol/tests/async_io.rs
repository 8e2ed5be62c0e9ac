//! The tokio helpers over an in-memory duplex stream.
// Integration tests are test code throughout, helpers included.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::BytesMut;
use common::*;
use prost::Message;
use sluice_protocol::frame::FrameError;
use sluice_protocol::{io, pb, records};
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn request_and_fetch_response_over_a_stream() {
    // A small pipe forces many partial reads.
    let (mut client, mut broker) = tokio::io::duplex(7);
    let request = fetch_request();
    let (response, trailing) = fetch_response();

    let client_side = async move {
        io::write_request_frame(&mut client, &header(5, 21), &fetch_request())
            .await
            .unwrap();
        let mut buf = BytesMut::new();
        let (head, body, got) = io::read_response_frame(&mut client, &mut buf, MAX)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(head.correlation_id, 21);
        let decoded = pb::FetchResponse::decode(body).unwrap();
        drop(client);
        records::split_records(&decoded, got).unwrap()
    };
    let server = async {
        let mut buf = BytesMut::new();
        let (head, body) = io::read_request_frame(&mut broker, &mut buf, MAX)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(pb::FetchRequest::decode(body).unwrap(), request);
        io::write_response_frame(&mut broker, head.correlation_id, &response, &trailing)
            .await
            .unwrap();
        // The client closes after reading: a clean end between frames.
        assert!(
            io::read_request_frame(&mut broker, &mut buf, MAX)
                .await
                .unwrap()
                .is_none()
        );
    };
    let (parts, ()) = tokio::join!(client_side, server);
    assert_eq!(parts, vec![&b"AAAAA"[..], &b""[..], &b"BBB"[..]]);
}

#[tokio::test]
async fn eof_inside_a_frame_is_an_error() {
    let whole = request_frames().remove(0);
    let (mut client, mut broker) = tokio::io::duplex(1024);
    client.write_all(&whole[..whole.len() - 1]).await.unwrap();
    drop(client);
    let mut buf = BytesMut::new();
    let err = io::read_request_frame(&mut broker, &mut buf, MAX)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FrameError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof),
        "{err:?}"
    );
}
