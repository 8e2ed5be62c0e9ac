//! `sluice group list|describe`: consumer groups, their members and
//! assignments, committed offsets and lag (as Kafka's
//! `kafka-consumer-groups.sh --list` and `--describe`).

use std::fmt::Write;

use anyhow::Context;
use clap::Subcommand;
use sluice_client::{GroupDescription, GroupListing, MemberAssignment};

use super::connect;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every group: name, state, protocol type and member count.
    /// Groups that only committed offsets are listed as Empty.
    List,
    /// Print a group's members with their assignments, and per partition
    /// the committed offset, the high watermark and the lag.
    Describe {
        /// Group name.
        group: String,
    },
}

pub async fn run(broker: &str, command: Command) -> anyhow::Result<()> {
    let client = connect(broker).await?;
    match command {
        Command::List => {
            let groups = client.list_groups().await.context("list groups")?;
            print!("{}", list(&groups));
        }
        Command::Describe { group } => {
            let description = client
                .describe_group(&group)
                .await
                .with_context(|| format!("describe group {group}"))?;
            print!("{}", describe(&description));
        }
    }
    Ok(())
}

/// The `list` text, one group per line under a header:
///
/// ```text
/// GROUP    STATE   PROTOCOL  MEMBERS
/// billing  Empty   -         0
/// orders   Stable  consumer  2
/// ```
fn list(groups: &[GroupListing]) -> String {
    let mut rows = vec![row(["GROUP", "STATE", "PROTOCOL", "MEMBERS"])];
    for g in groups {
        rows.push(vec![
            g.group.clone(),
            g.state.clone(),
            dash(&g.protocol_type),
            g.members.to_string(),
        ]);
    }
    table(&rows)
}

/// The `describe` text:
///
/// ```text
/// group orders: Stable, protocol consumer/range, generation 3, 1 member, lag 5
///
/// MEMBER-ID     CLIENT-ID  HOST        ASSIGNMENT
/// consumer-1-…  consumer   /127.0.0.1  t[0,1]
///
/// TOPIC  PARTITION  COMMITTED  HIGH-WATERMARK  LAG  MEMBER-ID
/// t      0          10         15              5    consumer-1-…
/// t      1          -          0               -    consumer-1-…
/// ```
fn describe(g: &GroupDescription) -> String {
    let mut out = String::new();
    let protocol = match (g.protocol_type.as_str(), g.protocol.as_str()) {
        ("", _) => "-".to_owned(),
        (kind, "") => kind.to_owned(),
        (kind, name) => format!("{kind}/{name}"),
    };
    let members = match g.members.len() {
        1 => "1 member".to_owned(),
        n => format!("{n} members"),
    };
    let lag: i64 = g.offsets.iter().filter_map(|o| o.lag()).sum();
    let _ = writeln!(
        out,
        "group {}: {}, protocol {protocol}, generation {}, {members}, lag {lag}",
        g.group, g.state, g.generation
    );
    if !g.members.is_empty() {
        let mut rows = vec![row(["MEMBER-ID", "CLIENT-ID", "HOST", "ASSIGNMENT"])];
        for m in &g.members {
            rows.push(vec![
                m.member_id.clone(),
                dash(&m.client_id),
                dash(&m.client_host),
                assignment(&m.assignment),
            ]);
        }
        out.push('\n');
        out.push_str(&table(&rows));
    }
    if !g.offsets.is_empty() {
        let mut rows = vec![row([
            "TOPIC",
            "PARTITION",
            "COMMITTED",
            "HIGH-WATERMARK",
            "LAG",
            "MEMBER-ID",
        ])];
        let show = |v: Option<i64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        for o in &g.offsets {
            let high_watermark = match o.error {
                Some(code) => format!("({})", code.description()),
                None => show(o.high_watermark),
            };
            rows.push(vec![
                o.topic_partition.topic.clone(),
                o.topic_partition.partition.to_string(),
                show(o.committed),
                high_watermark,
                show(o.lag()),
                o.member_id.clone().unwrap_or_else(|| "-".to_owned()),
            ]);
        }
        out.push('\n');
        out.push_str(&table(&rows));
    }
    out
}

/// `t[0,1] u[3]`; the size of an assignment that is not a consumer one.
fn assignment(a: &MemberAssignment) -> String {
    match a {
        MemberAssignment::None => "-".to_owned(),
        MemberAssignment::Opaque(bytes) => {
            format!("({} bytes, not a consumer assignment)", bytes.len())
        }
        MemberAssignment::Partitions(partitions) if partitions.is_empty() => "(none)".to_owned(),
        MemberAssignment::Partitions(partitions) => {
            // Sorted by topic, then partition: one group per topic.
            let mut out = String::new();
            let mut current: Option<&str> = None;
            for tp in partitions {
                if current == Some(tp.topic.as_str()) {
                    let _ = write!(out, ",{}", tp.partition);
                } else {
                    if current.is_some() {
                        out.push_str("] ");
                    }
                    let _ = write!(out, "{}[{}", tp.topic, tp.partition);
                    current = Some(&tp.topic);
                }
            }
            out.push(']');
            out
        }
    }
}

fn dash(s: &str) -> String {
    if s.is_empty() { "-" } else { s }.to_owned()
}

fn row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

/// Left-aligned columns two spaces apart; the last column is not padded.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == r.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ", width = widths[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_client::{ErrorCode, GroupMember, GroupOffset, TopicPartition};

    fn offset(p: u32, committed: Option<i64>, hw: i64, member: Option<&str>) -> GroupOffset {
        GroupOffset {
            topic_partition: TopicPartition::new("orders", p),
            committed,
            high_watermark: Some(hw),
            member_id: member.map(str::to_owned),
            metadata: String::new(),
            error: None,
        }
    }

    #[test]
    fn list_text() {
        let text = list(&[
            GroupListing {
                group: "billing".into(),
                state: "Empty".into(),
                protocol_type: String::new(),
                members: 0,
            },
            GroupListing {
                group: "orders-app".into(),
                state: "Stable".into(),
                protocol_type: "consumer".into(),
                members: 2,
            },
        ]);
        assert_eq!(
            text,
            "GROUP       STATE   PROTOCOL  MEMBERS\n\
             billing     Empty   -         0\n\
             orders-app  Stable  consumer  2\n"
        );
        assert_eq!(list(&[]), "GROUP  STATE  PROTOCOL  MEMBERS\n");
    }

    #[test]
    fn describe_text() {
        let g = GroupDescription {
            group: "app".into(),
            state: "Stable".into(),
            protocol_type: "consumer".into(),
            protocol: "range".into(),
            generation: 3,
            members: vec![
                GroupMember {
                    member_id: "c-1".into(),
                    group_instance_id: None,
                    client_id: "c".into(),
                    client_host: "/127.0.0.1".into(),
                    assignment: MemberAssignment::Partitions(vec![
                        TopicPartition::new("orders", 0),
                        TopicPartition::new("orders", 1),
                        TopicPartition::new("users", 4),
                    ]),
                },
                GroupMember {
                    member_id: "c-2".into(),
                    group_instance_id: None,
                    client_id: "c".into(),
                    client_host: "/127.0.0.1".into(),
                    assignment: MemberAssignment::Opaque(bytes::Bytes::from_static(b"xyz")),
                },
            ],
            offsets: vec![
                offset(0, Some(10), 15, Some("c-1")),
                offset(1, None, 7, Some("c-1")),
                GroupOffset {
                    error: Some(ErrorCode::UnknownTopicOrPartition),
                    high_watermark: None,
                    ..offset(2, Some(4), 0, None)
                },
            ],
        };
        let text = describe(&g);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "group app: Stable, protocol consumer/range, generation 3, 2 members, lag 5"
        );
        assert_eq!(
            lines[3],
            "c-1        c          /127.0.0.1  orders[0,1] users[4]"
        );
        assert!(lines[4].ends_with("(3 bytes, not a consumer assignment)"));
        let cells = |line: &str| {
            line.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(cells(lines[7]), ["orders", "0", "10", "15", "5", "c-1"]);
        assert_eq!(cells(lines[8]), ["orders", "1", "-", "7", "-", "c-1"]);
        assert!(lines[9].contains("(unknown topic or partition)"), "{text}");
    }

    #[test]
    fn describe_an_offsets_only_group() {
        let g = GroupDescription {
            group: "native".into(),
            state: "Empty".into(),
            protocol_type: String::new(),
            protocol: String::new(),
            generation: 0,
            members: Vec::new(),
            offsets: vec![offset(0, Some(3), 3, None)],
        };
        let text = describe(&g);
        assert!(text.starts_with(
            "group native: Empty, protocol -, generation 0, 0 members, lag 0\n\nTOPIC"
        ));
    }
}
