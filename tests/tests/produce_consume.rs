//! `sluice produce` and `sluice consume` against a real broker: a keyed
//! round trip, key separators, formats, start positions and groups.

use std::collections::{BTreeMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use sluice_client::partitioner::partition_for_key;
use sluice_e2e::Broker;

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// 20 000 keyed messages over 4 partitions, produced by one `sluice
/// produce` and read back by one `sluice consume`: every message once,
/// each key in the partition Kafka's partitioner picks, each key's
/// messages in the order produced.
#[test]
fn keyed_round_trip_keeps_per_key_order() {
    const MESSAGES: usize = 20_000;
    const KEYS: usize = 50;
    const PARTITIONS: u32 = 4;
    let broker = Broker::start();
    broker
        .sluice([
            "topic",
            "create",
            "rt",
            "--partitions",
            &PARTITIONS.to_string(),
        ])
        .ok();
    let mut input = String::new();
    for i in 0..MESSAGES {
        let key = i % KEYS;
        let seq = i / KEYS;
        input.push_str(&format!("key-{key}:{key}-{seq}\n"));
    }
    broker
        .sluice(["produce", "rt", "--key-separator", ":", "--acks", "all"])
        .stdin(input)
        .ok();

    let out = broker
        .sluice([
            "consume",
            "rt",
            "--from-beginning",
            "--count",
            &MESSAGES.to_string(),
            "--timeout-ms",
            "10000",
            "--format",
            "%p %o %k %s\\n",
        ])
        .ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), MESSAGES, "stderr: {}", out.stderr);

    let mut next_seq: BTreeMap<String, usize> = BTreeMap::new();
    let mut last_offset: BTreeMap<u32, i64> = BTreeMap::new();
    for line in lines {
        let cols: Vec<&str> = line.split(' ').collect();
        let (partition, offset, key, value): (u32, i64, &str, &str) = (
            cols[0].parse().unwrap(),
            cols[1].parse().unwrap(),
            cols[2],
            cols[3],
        );
        assert_eq!(
            partition,
            partition_for_key(key.as_bytes(), PARTITIONS),
            "{line}"
        );
        let previous = last_offset.insert(partition, offset);
        assert!(previous.is_none_or(|p| p < offset), "offsets go up: {line}");
        let (value_key, seq) = value.split_once('-').unwrap();
        assert_eq!(format!("key-{value_key}"), key);
        let expected = next_seq.entry(key.to_owned()).or_default();
        assert_eq!(seq.parse::<usize>().unwrap(), *expected, "order of {key}");
        *expected += 1;
    }
    assert_eq!(next_seq.len(), KEYS);
    assert!(next_seq.values().all(|&n| n == MESSAGES / KEYS));
    let used: HashSet<u32> = last_offset.keys().copied().collect();
    assert!(used.len() > 1, "keys spread over partitions: {used:?}");
}

#[test]
fn key_separator_splits_at_the_first_occurrence() {
    let broker = Broker::start();
    broker.sluice(["topic", "create", "ks"]).ok();
    broker
        .sluice(["produce", "ks", "--key-separator", "::"])
        .stdin("a::b::c\n::empty key\nk::\n")
        .ok();
    let out = broker
        .sluice([
            "consume",
            "ks",
            "--from-beginning",
            "--count",
            "3",
            "--format",
            "[%k][%s]\\n",
        ])
        .ok();
    assert_eq!(out.stdout, "[a][b::c]\n[][empty key]\n[k][]\n");

    // A line without the separator is not sent, and the run fails; the
    // other lines are still produced.
    let err = broker
        .sluice(["produce", "ks", "--key-separator", "::"])
        .stdin("x::1\nno separator\ny::2\n")
        .fails();
    assert!(
        err.contains("1 of 3 lines") && err.contains("line 2"),
        "{err}"
    );
    let out = broker
        .sluice([
            "consume", "ks", "--offset", "3", "--count", "2", "--format", "%k=%s\\n",
        ])
        .ok();
    assert_eq!(out.stdout, "x=1\ny=2\n");
}

#[test]
fn format_placeholders() {
    let broker = Broker::start();
    broker
        .sluice(["topic", "create", "fmt", "--partitions", "2"])
        .ok();
    let before = now_ms();
    broker
        .sluice(["produce", "fmt", "--partition", "1", "--key-separator", "="])
        .stdin("k1=hello\nk2=wörld\n")
        .ok();
    let after = now_ms();
    let out = broker
        .sluice([
            "consume",
            "fmt",
            "--from-beginning",
            "--count",
            "2",
            "--format",
            "%t|%p|%o|%k|%s|%T|%K|%S|100%%\\t.\\n",
        ])
        .ok();
    let lines: Vec<Vec<&str>> = out.stdout.lines().map(|l| l.split('|').collect()).collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert_eq!(lines[0][..5], ["fmt", "1", "0", "k1", "hello"]);
    assert_eq!(lines[1][..5], ["fmt", "1", "1", "k2", "wörld"]);
    for line in &lines {
        let ts: i64 = line[5].parse().unwrap();
        assert!((before..=after).contains(&ts), "{ts} in {before}..={after}");
        assert_eq!(line[8], "100%\t.");
    }
    assert_eq!(lines[1][6..8], ["2", "6"]);

    // The default is the value alone, one per line.
    let out = broker
        .sluice(["consume", "fmt", "--from-beginning", "--count", "2"])
        .ok();
    assert_eq!(out.stdout, "hello\nwörld\n");

    let out = broker
        .sluice(["consume", "fmt", "--count", "1", "--format", "%x"])
        .run();
    assert!(!out.status.success());
    assert!(out.stderr.contains("%x"), "{}", out.stderr);
}

#[test]
fn start_positions() {
    let broker = Broker::start();
    broker
        .sluice(["topic", "create", "pos", "--partitions", "2"])
        .ok();
    let lines: String = (0..10).map(|i| format!("m{i}\n")).collect();
    broker
        .sluice(["produce", "pos", "--partition", "0"])
        .stdin(lines)
        .ok();
    let consume = |args: &[&str]| {
        let mut all = vec!["consume", "pos", "--timeout-ms", "300"];
        all.extend_from_slice(args);
        broker.sluice(all).ok().stdout
    };
    assert_eq!(
        consume(&["--partition", "0", "--offset", "7"]),
        "m7\nm8\nm9\n"
    );
    assert_eq!(consume(&["--from-beginning", "--count", "2"]), "m0\nm1\n");
    assert_eq!(consume(&["--partition", "1", "--from-beginning"]), "");
    // Without --from-beginning only new messages come: none here.
    assert_eq!(consume(&[]), "");
}

/// `--group` starts where the group's last run stopped: no message twice,
/// none skipped.
#[test]
fn group_resumes_where_it_committed() {
    let broker = Broker::start();
    broker
        .sluice(["topic", "create", "g", "--partitions", "1"])
        .ok();
    let lines: String = (0..100).map(|i| format!("m{i}\n")).collect();
    broker.sluice(["produce", "g"]).stdin(lines).ok();
    let run = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["consume", "g", "--from-beginning", "--timeout-ms", "1000"];
        all.extend_from_slice(args);
        let out = broker.sluice(all).ok();
        out.stdout.lines().map(str::to_owned).collect()
    };
    let expect =
        |range: std::ops::Range<usize>| -> Vec<String> { range.map(|i| format!("m{i}")).collect() };
    assert_eq!(run(&["--group", "a", "--count", "30"]), expect(0..30));
    assert_eq!(run(&["--group", "a", "--count", "30"]), expect(30..60));
    // Another group has its own position.
    assert_eq!(run(&["--group", "b", "--count", "5"]), expect(0..5));
    // Without --count: everything left, then nothing.
    assert_eq!(run(&["--group", "a"]), expect(60..100));
    assert_eq!(run(&["--group", "a"]), Vec::<String>::new());
    assert_eq!(run(&["--group", "b", "--count", "5"]), expect(5..10));
}

/// The same over several partitions: successive runs of a group together
/// print every message exactly once.
#[test]
fn group_resumes_across_partitions() {
    let broker = Broker::start();
    broker
        .sluice(["topic", "create", "gp", "--partitions", "3"])
        .ok();
    let lines: String = (0..300).map(|i| format!("k{}:m{i}\n", i % 7)).collect();
    broker
        .sluice(["produce", "gp", "--key-separator", ":"])
        .stdin(lines)
        .ok();
    let mut seen = Vec::new();
    for count in ["50", "100", "1"] {
        let out = broker
            .sluice([
                "consume",
                "gp",
                "--group",
                "x",
                "--from-beginning",
                "--count",
                count,
            ])
            .ok();
        seen.extend(out.stdout.lines().map(str::to_owned));
    }
    let out = broker
        .sluice(["consume", "gp", "--group", "x", "--timeout-ms", "1000"])
        .ok();
    seen.extend(out.stdout.lines().map(str::to_owned));
    assert_eq!(seen.len(), 300);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 300, "no message twice");
}
