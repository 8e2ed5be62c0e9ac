//! `sluice topic ...`, the global `--broker` flag and error reporting:
//! one line on stderr and a non-zero exit.

use sluice_e2e::{Broker, Sluice};

/// Whitespace-separated columns of the describe row for `partition`.
fn describe_row(describe: &str, partition: u32) -> Vec<i64> {
    describe
        .lines()
        .skip(3)
        .map(|l| {
            l.split_whitespace()
                .map(|c| c.parse().unwrap_or_else(|e| panic!("{l:?}: {e}")))
                .collect::<Vec<i64>>()
        })
        .find(|cols| cols[0] == i64::from(partition))
        .unwrap_or_else(|| panic!("no row for partition {partition} in:\n{describe}"))
}

#[test]
fn create_list_describe_delete() {
    let broker = Broker::start();
    let created = broker
        .sluice([
            "topic",
            "create",
            "orders",
            "--partitions",
            "3",
            "--config",
            "retention.ms=60000",
            "--config",
            "segment.bytes=16777216",
        ])
        .ok();
    assert!(created.stdout.contains("orders"), "{}", created.stdout);
    broker.sluice(["topic", "create", "audit"]).ok();
    assert_eq!(
        broker.sluice(["topic", "list"]).ok().stdout,
        "audit\norders\n"
    );

    let describe = broker.sluice(["topic", "describe", "orders"]).ok().stdout;
    assert!(
        describe.starts_with("topic orders: 3 partitions, 0 messages"),
        "{describe}"
    );
    assert!(describe.contains("retention.ms=60000"), "{describe}");
    assert!(describe.contains("segment.bytes=16777216"), "{describe}");
    assert_eq!(describe_row(&describe, 2), [2, 0, 0, 0]);

    // Five messages into partition 1 only.
    broker
        .sluice(["produce", "orders", "--partition", "1"])
        .stdin("a\nb\nc\nd\ne\n")
        .ok();
    let describe = broker.sluice(["topic", "describe", "orders"]).ok().stdout;
    assert!(describe.contains("3 partitions, 5 messages"), "{describe}");
    let row = describe_row(&describe, 1);
    assert_eq!(&row[..3], [1, 0, 5]);
    assert!(row[3] > 5, "size on disk counts the batch: {describe}");
    assert_eq!(&describe_row(&describe, 0)[..3], [0, 0, 0]);

    let deleted = broker.sluice(["topic", "delete", "orders"]).ok();
    assert!(deleted.stdout.contains("orders"));
    assert_eq!(broker.sluice(["topic", "list"]).ok().stdout, "audit\n");
    let err = broker.sluice(["topic", "describe", "orders"]).fails();
    assert!(
        err.contains("orders") && err.contains("unknown topic"),
        "{err}"
    );
}

#[test]
fn admin_errors_are_one_line() {
    let broker = Broker::start();
    broker
        .sluice(["topic", "create", "t", "--partitions", "1"])
        .ok();
    let err = broker
        .sluice(["topic", "create", "t", "--partitions", "1"])
        .fails();
    assert!(
        err.starts_with("sluice: ") && err.contains("already exists"),
        "{err}"
    );
    let err = broker
        .sluice(["topic", "create", "u", "--partitions", "0"])
        .fails();
    assert!(err.contains("partitions"), "{err}");
    let err = broker
        .sluice(["topic", "create", "u", "--config", "colour=blue"])
        .fails();
    assert!(err.contains("colour"), "{err}");
    let err = broker.sluice(["topic", "delete", "nope"]).fails();
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn unknown_topic_fails_produce_and_consume() {
    let broker = Broker::start();
    broker.sluice(["topic", "create", "t"]).ok();
    let err = broker.sluice(["produce", "nope"]).stdin("x\n").fails();
    assert!(
        err.contains("nope") && err.contains("unknown topic"),
        "{err}"
    );
    let err = broker
        .sluice(["consume", "nope", "--from-beginning", "--timeout-ms", "200"])
        .fails();
    assert!(
        err.contains("nope") && err.contains("unknown topic"),
        "{err}"
    );
    let err = broker
        .sluice(["consume", "t", "--partition", "7", "--timeout-ms", "200"])
        .fails();
    assert!(err.contains("partition 7"), "{err}");
    let err = broker
        .sluice(["produce", "t", "--partition", "7"])
        .stdin("x\n")
        .fails();
    assert!(err.contains("partition 7"), "{err}");
}

#[test]
fn bad_broker_address() {
    // Nothing listens on port 1 of loopback.
    let err = Sluice::new("127.0.0.1:1").args(["topic", "list"]).fails();
    assert!(
        err.contains("could not connect") && err.contains("127.0.0.1:1"),
        "{err}"
    );
    let err = Sluice::new("127.0.0.1:1")
        .args(["consume", "t", "--timeout-ms", "100"])
        .fails();
    assert!(err.contains("could not connect"), "{err}");
    // Produce retries the connection; with no retries it fails at once.
    let err = Sluice::new("127.0.0.1:1")
        .args(["produce", "t", "--retries", "0"])
        .stdin("x\n")
        .fails();
    assert!(err.contains("could not connect"), "{err}");
    // Not HOST:PORT at all: a usage error from the argument parser.
    let out = Sluice::new("no-port-here").args(["topic", "list"]).run();
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("HOST:PORT"), "{}", out.stderr);
}

#[test]
fn broker_from_the_environment() {
    let broker = Broker::start();
    broker.sluice(["topic", "create", "from-env"]).ok();
    let out = Sluice::bare()
        .env("SLUICE_BROKER", &broker.addr())
        .args(["topic", "list"])
        .ok();
    assert_eq!(out.stdout, "from-env\n");
}
