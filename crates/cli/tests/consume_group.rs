//! `sluice consume --group G`, the real binary against a broker started
//! in-process: two runs in one group on a three-partition topic split the
//! partitions (each record printed by exactly one of them); when one stops
//! (Ctrl-C) it leaves, and the other takes every partition and prints the
//! records that come next; the group's commits cover what was printed.
// Test code: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use sluice_broker::{Broker, BrokerConfig, BrokerHandle};
use sluice_client::{
    Client, MemberAssignment, Producer, ProducerConfig, ProducerRecord, TopicConfig, TopicPartition,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// Every wait is bounded by this; generous, machines are noisy.
const PATIENCE: Duration = Duration::from_secs(90);
const GROUP: &str = "cli-group";
const TOPIC: &str = "orders";

async fn start(dir: &std::path::Path) -> BrokerHandle {
    Broker::start(BrokerConfig {
        data_dir: dir.to_owned(),
        listen: "127.0.0.1:0".into(),
        // The first rebalance of the group waits this long for more members.
        group_initial_rebalance_delay_ms: 200,
        shutdown_grace_ms: 2_000,
        ..BrokerConfig::default()
    })
    .await
    .unwrap()
}

/// One `sluice consume --group` run; its printed lines arrive on `lines`
/// as (name, line).
struct Run {
    child: Child,
    stderr: tokio::task::JoinHandle<String>,
}

fn consume(
    name: &'static str,
    broker: &str,
    lines: mpsc::UnboundedSender<(&'static str, String)>,
) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "--broker", broker, "-vv", "consume", TOPIC, "--group", GROUP,
        ])
        .args(["--from-beginning", "--format", "%p %s\\n"])
        .env_remove("SLUICE_BROKER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn sluice");
    let stdout = child.stdout.take().expect("piped stdout");
    tokio::spawn(async move {
        let mut reader = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            if lines.send((name, line)).is_err() {
                break;
            }
        }
    });
    let mut stderr = child.stderr.take().expect("piped stderr");
    let stderr = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    Run { child, stderr }
}

impl Run {
    /// Ctrl-C, then the run must end cleanly.
    async fn interrupt(mut self) {
        let pid = self.child.id().expect("the run is going");
        let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("the run ends after Ctrl-C")
            .unwrap();
        let stderr = self.stderr.await.unwrap_or_default();
        assert!(status.success(), "exit {status}; stderr:\n{stderr}");
    }
}

/// Polls the group's description until `check` accepts it.
async fn until_group<T>(
    client: &Client,
    what: &str,
    check: impl Fn(&sluice_client::GroupDescription) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Ok(group) = client.describe_group(GROUP).await
            && let Some(value) = check(&group)
        {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Each member's partitions, once every member has some.
fn shares(group: &sluice_client::GroupDescription) -> Option<Vec<BTreeSet<u32>>> {
    if group.state != "Stable" {
        return None;
    }
    group
        .members
        .iter()
        .map(|m| match &m.assignment {
            MemberAssignment::Partitions(p) if !p.is_empty() => {
                Some(p.iter().map(|tp| tp.partition).collect())
            }
            _ => None,
        })
        .collect()
}

async fn produce(client: &Client, prefix: &str, per_partition: u32) {
    let producer = Producer::new(client.clone(), ProducerConfig::default()).unwrap();
    let mut deliveries = Vec::new();
    for p in 0..3 {
        for i in 0..per_partition {
            let record = ProducerRecord::new(TOPIC, format!("{prefix}-{p}-{i}")).partition(p);
            deliveries.push(producer.send(record).await);
        }
    }
    for d in deliveries {
        d.await.unwrap();
    }
    producer.close().await;
}

/// Collects printed lines until `n` arrived: (name, partition, value).
async fn read_lines(
    lines: &mut mpsc::UnboundedReceiver<(&'static str, String)>,
    n: usize,
) -> Vec<(&'static str, u32, String)> {
    let mut out = Vec::new();
    while out.len() < n {
        let (name, line) = tokio::time::timeout(PATIENCE, lines.recv())
            .await
            .unwrap_or_else(|_| panic!("{} of {n} lines printed: {out:?}", out.len()))
            .expect("the runs' output is open");
        let (partition, value) = line.split_once(' ').expect("%p %s");
        out.push((name, partition.parse().unwrap(), value.to_owned()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_in_a_group_split_the_partitions_and_one_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    let addr = broker.local_addr().to_string();
    let client = Client::connect(addr.clone()).await.unwrap();
    client
        .create_topic(TOPIC, 3, TopicConfig::default())
        .await
        .unwrap();
    let (tx, mut lines) = mpsc::unbounded_channel();
    let a = consume("a", &addr, tx.clone());
    let b = consume("b", &addr, tx);

    let split = until_group(&client, "two members sharing the partitions", |g| {
        shares(g).filter(|s| s.len() == 2)
    })
    .await;
    assert!(split[0].is_disjoint(&split[1]), "{split:?}");
    assert_eq!(split[0].len() + split[1].len(), 3);

    produce(&client, "first", 10).await;
    let printed = read_lines(&mut lines, 30).await;
    let values: BTreeSet<&str> = printed.iter().map(|(_, _, v)| v.as_str()).collect();
    assert_eq!(values.len(), 30, "each record printed once: {printed:?}");
    let by = |name: &str| -> BTreeSet<u32> {
        printed
            .iter()
            .filter(|(n, _, _)| *n == name)
            .map(|(_, p, _)| *p)
            .collect()
    };
    let (by_a, by_b) = (by("a"), by("b"));
    assert!(
        by_a.is_disjoint(&by_b),
        "a printed {by_a:?}, b printed {by_b:?}"
    );
    assert_eq!(by_a.len() + by_b.len(), 3);

    // b stops: it leaves, and a holds every partition.
    b.interrupt().await;
    until_group(&client, "a alone with every partition", |g| {
        shares(g).filter(|s| s.len() == 1 && s[0].len() == 3)
    })
    .await;
    produce(&client, "second", 5).await;
    let printed = read_lines(&mut lines, 15).await;
    assert!(
        printed
            .iter()
            .all(|(n, _, v)| *n == "a" && v.starts_with("second")),
        "{printed:?}"
    );
    let partitions: BTreeSet<u32> = printed.iter().map(|(_, p, _)| *p).collect();
    assert_eq!(partitions.len(), 3);

    // a stops too: the group is empty and its commits cover what was
    // printed.
    a.interrupt().await;
    let group = client.describe_group(GROUP).await.unwrap();
    assert!(group.members.is_empty(), "{group:?}");
    let committed = client.fetch_offsets(GROUP, &[]).await.unwrap();
    let offsets: Vec<(TopicPartition, Option<i64>)> = committed
        .into_iter()
        .map(|c| (c.topic_partition, c.offset))
        .collect();
    assert_eq!(
        offsets,
        (0..3)
            .map(|p| (TopicPartition::new(TOPIC, p), Some(15)))
            .collect::<Vec<_>>()
    );
    assert!(lines.try_recv().is_err(), "nothing printed twice");
    broker.shutdown().await.unwrap();
}
