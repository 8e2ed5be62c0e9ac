//! `sluice bench produce` and `sluice bench consume`: small bounded runs
//! whose `--json` report parses and shows positive throughput.

use serde_json::Value;
use sluice_e2e::Broker;

fn report(stdout: &str) -> Value {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON object on stdout: {stdout}");
    serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn assert_sane(r: &Value, bench: &str, messages: u64, bytes: u64) {
    assert_eq!(r["bench"], bench);
    assert_eq!(r["messages"].as_u64(), Some(messages), "{r}");
    assert_eq!(r["bytes"].as_u64(), Some(bytes), "{r}");
    assert_eq!(r["errors"].as_u64(), Some(0), "{r}");
    let number = |v: &Value| {
        v.as_f64()
            .unwrap_or_else(|| panic!("not a number: {v} in {r}"))
    };
    assert!(number(&r["messages_per_sec"]) > 0.0, "{r}");
    assert!(number(&r["mb_per_sec"]) > 0.0, "{r}");
    let p = |k: &str| number(&r["latency_ms"][k]);
    assert!(p("p50") > 0.0, "{r}");
    assert!(p("p50") <= p("p95") && p("p95") <= p("p99"), "{r}");
    assert!(p("p99") <= p("p99_9") && p("p99_9") <= p("max"), "{r}");
}

#[test]
fn bench_produce_then_consume_json() {
    let broker = Broker::start();
    let out = broker
        .sluice([
            "bench",
            "produce",
            "--topic",
            "b",
            "--messages",
            "3000",
            "--message-size",
            "200",
            "--producers",
            "2",
            "--partitions",
            "3",
            "--batch-size",
            "4096",
            "--linger-ms",
            "2",
            "--acks",
            "all",
            "--timeout-secs",
            "60",
            "--json",
        ])
        .ok();
    let r = report(&out.stdout);
    assert_sane(&r, "produce", 3000, 600_000);
    assert_eq!(r["settings"]["producers"], 2);
    assert_eq!(r["settings"]["acks"], "all");

    let describe = broker.sluice(["topic", "describe", "b"]).ok().stdout;
    assert!(
        describe.starts_with("topic b: 3 partitions, 3000 messages"),
        "{describe}"
    );

    let out = broker
        .sluice([
            "bench",
            "consume",
            "--topic",
            "b",
            "--messages",
            "3000",
            "--consumers",
            "2",
            "--timeout-secs",
            "60",
            "--json",
        ])
        .ok();
    assert_sane(&report(&out.stdout), "consume", 3000, 600_000);
}

#[test]
fn bench_text_report_and_bounds() {
    let broker = Broker::start();
    let out = broker
        .sluice([
            "bench",
            "produce",
            "--topic",
            "t",
            "--messages",
            "500",
            "--message-size",
            "10",
            "--rate",
            "2500",
        ])
        .ok();
    assert!(out.stdout.contains("msg/s"), "{}", out.stdout);
    // 500 messages at 2500/s take about 0.2 s.
    let elapsed: f64 = out
        .stdout
        .split(" in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|secs| secs.parse().ok())
        .unwrap_or_else(|| panic!("no elapsed time in {}", out.stdout));
    assert!(elapsed >= 0.15, "--rate paces the run: {}", out.stdout);
    assert!(out.stdout.contains("p99.9"), "{}", out.stdout);

    // Asking for more than the topic holds fails at once.
    let err = broker
        .sluice(["bench", "consume", "--topic", "t", "--messages", "501"])
        .fails();
    assert!(err.contains("holds 500 messages"), "{err}");
}
