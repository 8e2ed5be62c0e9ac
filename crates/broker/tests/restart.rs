//! Durability across restarts: topics and committed offsets survive a clean
//! restart, and acks=all data survives SIGKILL of a broker process.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::*;
use sluice_protocol::consts::ACKS_ALL;
use sluice_protocol::{ErrorCode, pb};

#[tokio::test]
async fn restart_keeps_topics_and_offsets() {
    let dir = tempfile::tempdir().unwrap();
    {
        let broker = start(dir.path()).await;
        let mut client = Client::connect(broker.local_addr()).await;
        client
            .call(&pb::CreateTopicRequest {
                name: "kept".into(),
                partitions: 3,
                config: Some(pb::TopicConfig {
                    retention_ms: Some(-1),
                    ..Default::default()
                }),
            })
            .await;
        produce_values(&mut client, "kept", 2, &[b"one", b"two"]).await;
        let commit = client
            .call(&pb::CommitOffsetsRequest {
                group: "readers".into(),
                partitions: vec![pb::CommitOffsetsPartition {
                    topic: "kept".into(),
                    partition: 2,
                    offset: 1,
                    metadata: "half way".into(),
                }],
                ..Default::default()
            })
            .await;
        assert_eq!(code(commit.partitions[0].error_code), ErrorCode::None);
        broker.shutdown().await.unwrap();
    }
    for partition in 0..3 {
        let marker = dir
            .path()
            .join(format!("topics/kept/{partition}/.clean-shutdown"));
        assert!(
            marker.exists(),
            "a clean shutdown marks every partition clean"
        );
    }
    let broker = start(dir.path()).await;
    let mut client = Client::connect(broker.local_addr()).await;
    let metadata = client.call(&pb::MetadataRequest { topics: vec![] }).await;
    assert_eq!(metadata.topics.len(), 1);
    assert_eq!(metadata.topics[0].partitions.len(), 3);
    assert_eq!(metadata.topics[0].partitions[2].log_end_offset, 2);
    assert_eq!(
        metadata.topics[0].config.as_ref().unwrap().retention_ms,
        Some(-1)
    );
    let values: Vec<Vec<u8>> = fetch_all(&mut client, "kept", 2, 0)
        .await
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert_eq!(values, [b"one".to_vec(), b"two".to_vec()]);
    let offsets = client
        .call(&pb::FetchOffsetsRequest {
            group: "readers".into(),
            partitions: vec![],
        })
        .await;
    assert_eq!(offsets.partitions.len(), 1);
    assert_eq!(
        (
            offsets.partitions[0].offset,
            offsets.partitions[0].metadata.as_str()
        ),
        (1, "half way")
    );
    // Appends continue after the recovered end.
    assert_eq!(
        produce_values(&mut client, "kept", 2, &[b"three"])
            .await
            .base_offset,
        2
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_second_broker_cannot_open_the_same_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let second = sluice_broker::Broker::start(config(dir.path())).await;
    assert!(
        matches!(
            second,
            Err(sluice_broker::errors::BrokerError::Locked { .. })
        ),
        "{second:?}"
    );
    broker.shutdown().await.unwrap();
}

/// A broker child process, killed on drop.
struct ChildBroker {
    child: Child,
    addr: SocketAddr,
}

impl ChildBroker {
    fn spawn(dir: &Path) -> ChildBroker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice-broker"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            // Only acks=all may make data durable here: no interval flush.
            .args([
                "--default-flush-interval-ms",
                "0",
                "--default-segment-bytes",
                "1048576",
            ])
            .args(["--default-max-message-bytes", "262144"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("sluice-broker listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        ChildBroker { child, addr }
    }

    fn kill9(mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
        self.child.wait().unwrap();
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for ChildBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn acks_all_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let broker = ChildBroker::spawn(dir.path());
    let mut client = Client::connect(broker.addr).await;
    create_topic(&mut client, "durable", 1).await;
    let mut acknowledged = Vec::new();
    // Pipelined acks=all produces: group commit shares the flushes.
    let mut ids = Vec::new();
    for i in 0..50u32 {
        let value = format!("v{i}");
        ids.push(
            client
                .send(&produce(
                    "durable",
                    0,
                    ACKS_ALL,
                    vec![batch(&[value.as_bytes()])],
                ))
                .await,
        );
    }
    for (i, id) in ids.into_iter().enumerate() {
        let (response, _) = client.read_as::<pb::ProduceResponse>(id).await;
        assert_eq!(code(response.error_code), ErrorCode::None);
        acknowledged.push((response.base_offset, format!("v{i}").into_bytes()));
    }
    let commit = client
        .call(&pb::CommitOffsetsRequest {
            group: "g".into(),
            partitions: vec![pb::CommitOffsetsPartition {
                topic: "durable".into(),
                partition: 0,
                offset: 17,
                metadata: String::new(),
            }],
            ..Default::default()
        })
        .await;
    assert_eq!(code(commit.partitions[0].error_code), ErrorCode::None);
    drop(client);
    broker.kill9();

    let broker = ChildBroker::spawn(dir.path());
    let mut client = Client::connect(broker.addr).await;
    let got = fetch_all(&mut client, "durable", 0, 0).await;
    assert_eq!(
        got, acknowledged,
        "every acknowledged record survives the crash"
    );
    let offsets = client
        .call(&pb::FetchOffsetsRequest {
            group: "g".into(),
            partitions: vec![pb::TopicPartition {
                topic: "durable".into(),
                partition: 0,
            }],
        })
        .await;
    assert_eq!(offsets.partitions[0].offset, 17);
    drop(client);
    let status = broker.terminate();
    assert!(status.success(), "SIGTERM shuts down cleanly: {status:?}");
}

/// A topic of the longest valid name can be deleted, and stays deleted across a restart; the
/// groups' committed offsets go with it, so a topic recreated under the same name starts fresh.
#[tokio::test]
async fn deleted_topics_stay_deleted_with_their_committed_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let long = "t".repeat(249);
    let commit = |topic: &str| pb::CommitOffsetsRequest {
        group: "readers".into(),
        partitions: vec![pb::CommitOffsetsPartition {
            topic: topic.into(),
            partition: 0,
            offset: 2,
            metadata: String::new(),
        }],
        ..Default::default()
    };
    let committed = async |client: &mut Client| {
        let offsets = client
            .call(&pb::FetchOffsetsRequest {
                group: "readers".into(),
                partitions: vec![],
            })
            .await;
        offsets
            .partitions
            .iter()
            .map(|p| (p.topic.clone(), p.offset))
            .collect::<Vec<_>>()
    };
    {
        let broker = start(dir.path()).await;
        let mut client = Client::connect(broker.local_addr()).await;
        for topic in [long.as_str(), "orders", "kept"] {
            create_topic(&mut client, topic, 1).await;
            produce_values(&mut client, topic, 0, &[b"one", b"two"]).await;
            let reply = client.call(&commit(topic)).await;
            assert_eq!(code(reply.partitions[0].error_code), ErrorCode::None);
        }
        for topic in [long.as_str(), "orders"] {
            let deleted = client
                .call(&pb::DeleteTopicRequest { name: topic.into() })
                .await;
            assert_eq!(code(deleted.error_code), ErrorCode::None, "{}", topic.len());
        }
        assert_eq!(committed(&mut client).await, [("kept".to_owned(), 2)]);
        broker.shutdown().await.unwrap();
    }
    let broker = start(dir.path()).await;
    let mut client = Client::connect(broker.local_addr()).await;
    let metadata = client.call(&pb::MetadataRequest { topics: vec![] }).await;
    let names: Vec<&str> = metadata.topics.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["kept"], "deleted topics stay deleted");
    assert_eq!(committed(&mut client).await, [("kept".to_owned(), 2)]);
    create_topic(&mut client, "orders", 1).await;
    assert_eq!(committed(&mut client).await, [("kept".to_owned(), 2)]);
    broker.shutdown().await.unwrap();
}

/// The segment files of a directory by name, with a checksum of their bytes (indexes are
/// derived data that recovery may rebuild).
fn files_of(dir: &Path) -> Vec<(String, u64)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| {
            (e.file_name().to_string_lossy().into_owned(), {
                use std::hash::{Hash, Hasher};
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                std::fs::read(e.path()).unwrap().hash(&mut hasher);
                hasher.finish()
            })
        })
        .collect();
    files.sort();
    files
}

/// A partition whose files recovery cannot vouch for is offline, with its files untouched; the
/// broker starts and serves the topic's other partitions.
#[tokio::test]
async fn a_damaged_partition_goes_offline_and_the_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    {
        let broker = start(dir.path()).await;
        let mut client = Client::connect(broker.local_addr()).await;
        let created = client
            .call(&pb::CreateTopicRequest {
                name: "t".into(),
                partitions: 2,
                config: Some(pb::TopicConfig {
                    segment_bytes: Some(1024),
                    max_message_bytes: Some(1024),
                    retention_ms: Some(-1),
                    ..Default::default()
                }),
            })
            .await;
        assert_eq!(code(created.error_code), ErrorCode::None);
        for i in 0..12u8 {
            for partition in [0, 1] {
                produce_values(&mut client, "t", partition, &[&[i; 300]]).await;
            }
        }
        broker.shutdown().await.unwrap();
    }
    // Damage the first segment of partition 1 and make the next start scan it.
    let damaged = dir.path().join("topics/t/1");
    let first = damaged.join(format!("{:020}.log", 0));
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&first, bytes).unwrap();
    std::fs::remove_file(damaged.join(".clean-shutdown")).unwrap();
    std::fs::remove_file(damaged.join("recovery-point-checkpoint")).unwrap();
    let before = files_of(&damaged);

    let broker = start(dir.path()).await;
    let mut client = Client::connect(broker.local_addr()).await;
    let metadata = client
        .call(&pb::MetadataRequest {
            topics: vec!["t".into()],
        })
        .await;
    let partitions: Vec<(u32, ErrorCode, i64)> = metadata.topics[0]
        .partitions
        .iter()
        .map(|p| (p.partition, code(p.error_code), p.log_end_offset))
        .collect();
    assert_eq!(
        partitions,
        [(0, ErrorCode::None, 12), (1, ErrorCode::StorageError, 0)]
    );
    let after = |partition| produce("t", partition, ACKS_ALL, vec![batch(&[b"after"])]);
    let refused = client.call(&after(1)).await;
    assert_eq!(code(refused.error_code), ErrorCode::StorageError);
    assert!(
        refused.error_message.contains("offline"),
        "{}",
        refused.error_message
    );
    let served = client.call(&after(0)).await;
    assert_eq!(code(served.error_code), ErrorCode::None);
    assert_eq!(fetch_all(&mut client, "t", 0, 0).await.len(), 13);
    broker.shutdown().await.unwrap();
    assert_eq!(
        files_of(&damaged),
        before,
        "the damaged partition's files are kept"
    );
}
