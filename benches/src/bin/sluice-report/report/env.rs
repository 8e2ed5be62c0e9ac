//! Where and how the report was measured: the machine, the command, the
//! source tree, and how much of the machine other processes used meanwhile.

use std::path::Path;
use std::time::Duration;

use crate::Plan;

/// Where and how the report was measured.
#[derive(Debug, Clone)]
pub struct Environment {
    pub command: String,
    /// Where the broker binary came from.
    pub broker: String,
    /// `git describe`-style commit of the working tree, `+dirty` if edited.
    pub commit: String,
    pub date: String,
    pub cpu: String,
    pub cores: usize,
    pub memory: String,
    pub kernel: String,
    pub runs: usize,
    pub quick: bool,
    pub load_before: String,
    pub load_after: String,
    /// Share of the machine's CPU time used by other processes while the
    /// report ran (0..1).
    pub others_busy: f64,
    pub elapsed: Duration,
    pub transfer: TransferFacts,
    busy_start: Option<f64>,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn loadavg() -> String {
    read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Busy CPU seconds of the whole machine since boot (`/proc/stat`).
fn machine_busy_seconds() -> Option<f64> {
    let stat = read("/proc/stat");
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    let busy = v.first()? + v.get(1)? + v.get(2)? + v.get(5)? + v.get(6)? + v.get(7)?;
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    Some(busy / ticks)
}

/// CPU seconds of this process and its waited-for children (the brokers,
/// cargo and the storage harness).
fn own_seconds() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    use nix::sys::time::TimeValLike;
    [UsageWho::RUSAGE_SELF, UsageWho::RUSAGE_CHILDREN]
        .into_iter()
        .filter_map(|who| getrusage(who).ok())
        .map(|u| {
            (u.user_time().num_microseconds() + u.system_time().num_microseconds()) as f64 / 1e6
        })
        .sum()
}

/// The commit of the working tree, marked `+dirty` when it has changes.
fn git_commit(root: &Path) -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(head) => {
            let dirty = git(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty());
            format!("{head}{}", if dirty { "+dirty" } else { "" })
        }
        None => "unknown".into(),
    }
}

/// `YYYY-MM-DD HH:MM UTC` from the system clock.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

impl Environment {
    pub fn capture(plan: &Plan, command: String, broker: String, root: &Path) -> Environment {
        let cpuinfo = read("/proc/cpuinfo");
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map_or_else(|| "unknown CPU".to_owned(), |m| m.trim().to_owned());
        let memory = read("/proc/meminfo")
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or_else(
                || "unknown".to_owned(),
                |kb| format!("{:.1} GiB", kb / 1048576.0),
            );
        Environment {
            command,
            broker,
            commit: git_commit(root),
            date: utc_now(),
            cpu,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory,
            kernel: format!("Linux {}", read("/proc/sys/kernel/osrelease").trim()),
            runs: plan.runs,
            quick: plan.quick,
            load_before: loadavg(),
            load_after: String::new(),
            others_busy: f64::NAN,
            elapsed: Duration::ZERO,
            transfer: TransferFacts::read(root),
            busy_start: machine_busy_seconds().map(|b| b - own_seconds()),
        }
    }

    pub fn finish(&mut self, elapsed: Duration) {
        self.elapsed = elapsed;
        self.load_after = loadavg();
        if let (Some(start), Some(now)) = (self.busy_start, machine_busy_seconds()) {
            let others = (now - own_seconds()) - start;
            self.others_busy =
                (others / (elapsed.as_secs_f64() * self.cores.max(1) as f64)).clamp(0.0, 1.0);
        }
    }
}

/// What the broker's transfer code does, read from its source so the
/// method notes stay true when it changes.
#[derive(Debug, Clone, Default)]
pub struct TransferFacts {
    /// The `read` mode's buffer size expression (`READ_BUF`).
    pub read_buf: Option<String>,
    /// Whether the `splice` mode resizes its pipe (`F_SETPIPE_SZ`).
    pub sets_pipe_size: bool,
}

impl TransferFacts {
    pub fn read(root: &Path) -> TransferFacts {
        let source = std::fs::read_to_string(root.join("crates/network/src/transfer/mod.rs"))
            .unwrap_or_default();
        let read_buf = source
            .lines()
            .find(|l| l.contains("const READ_BUF: usize ="))
            .and_then(|l| l.split('=').nth(1))
            .map(|v| v.trim().trim_end_matches(';').trim().to_owned());
        TransferFacts {
            read_buf,
            sets_pipe_size: source.contains("F_SETPIPE_SZ"),
        }
    }
}
