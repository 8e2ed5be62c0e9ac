//! The real `sluice-broker` binary as a child process.
//!
//! The broker is started on port 0 and prints `sluice-broker listening on
//! ADDR` when ready; its logs go to a file in the data directory's parent so
//! a failure can show them. Its CPU time is `utime + stime` of
//! `/proc/<pid>/stat` (every thread of the process), in clock ticks.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long the broker may take to start or to stop cleanly.
const START_TIMEOUT: Duration = Duration::from_secs(120);
const STOP_TIMEOUT: Duration = Duration::from_secs(120);

/// A running broker. Dropping it kills the process if `stop` was not called.
#[derive(Debug)]
pub struct BrokerProcess {
    child: Child,
    addr: String,
    log: PathBuf,
}

impl BrokerProcess {
    /// Starts `bin` on `data_dir` with `--transfer-mode mode` and waits for
    /// its listening line.
    pub fn start(bin: &Path, data_dir: &Path, mode: &str) -> Result<BrokerProcess> {
        Self::start_with(bin, data_dir, mode, &[])
    }

    /// [`BrokerProcess::start`] with more command-line arguments.
    pub fn start_with(
        bin: &Path,
        data_dir: &Path,
        mode: &str,
        extra: &[&str],
    ) -> Result<BrokerProcess> {
        std::fs::create_dir_all(data_dir)?;
        let log = data_dir.with_extension(format!("{mode}.log"));
        let stderr = File::create(&log)?;
        let mut child = Command::new(bin)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0", "--transfer-mode", mode])
            // Room for 16 MiB fetches and 1 MB produce batches with their
            // frames; these are the defaults, spelled out so the report
            // does not depend on them.
            .args(["--max-frame-bytes", "67108864"])
            .args(["--default-max-message-bytes", "8388608"])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("broker stdout")?;
        let (tx, rx) = mpsc::channel();
        // Reads the listening line, then keeps draining stdout so the broker
        // never writes into a full or closed pipe. Ends with the process.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let mut process = BrokerProcess {
            child,
            addr: String::new(),
            log,
        };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => {
                let Some(addr) = line.strip_prefix("sluice-broker listening on ") else {
                    bail!("unexpected first line from the broker: {line:?}");
                };
                process.addr = addr.trim().to_owned();
            }
            Err(_) => bail!(
                "broker did not start within {START_TIMEOUT:?}; its log:\n{}",
                process.log_tail()
            ),
        }
        Ok(process)
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap_or(i32::MAX)
    }

    /// CPU seconds (user + system, all threads) the broker used so far.
    pub fn cpu_seconds(&self) -> Result<f64> {
        process_cpu_seconds(self.pid())
    }

    /// The end of the broker's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// SIGTERM, then waits for a clean exit (the broker flushes and closes
    /// its logs). Returns the log text, whose last line carries the
    /// per-mode byte counters.
    pub fn stop(mut self) -> Result<String> {
        kill(Pid::from_raw(self.pid()), Signal::SIGTERM).context("SIGTERM to the broker")?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("broker exited with {status}; log:\n{}", self.log_tail());
                }
                return Ok(std::fs::read_to_string(&self.log).unwrap_or_default());
            }
            if Instant::now() > deadline {
                bail!("broker did not stop within {STOP_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Ticks per second of the `utime`/`stime` fields.
fn clock_ticks() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(ticks)) if ticks > 0 => ticks as f64,
        _ => 100.0,
    }
}

/// `utime + stime` of a process, in seconds.
pub fn process_cpu_seconds(pid: i32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) is in parentheses and may hold spaces;
    // fields are counted after its closing parenthesis. There, field 3
    // (state) is index 0, so utime (14) and stime (15) are 11 and 12.
    let rest = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .context("malformed /proc/pid/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> Result<f64> {
        let value: u64 = fields
            .get(i)
            .context("short /proc/pid/stat")?
            .parse()
            .context("non-numeric /proc/pid/stat field")?;
        Ok(value as f64)
    };
    Ok((tick(11)? + tick(12)?) / clock_ticks())
}

/// The byte counter of `mode` from the broker's shutdown log line
/// (`sendfile=N splice=N mmap=N read=N bytes`), to check that fetched bytes
/// took the path being measured.
pub fn transfer_bytes_logged(log: &str, mode: &str) -> Option<u64> {
    let line = log.lines().rev().find(|l| l.contains("broker stopped"))?;
    let key = format!("{mode}=");
    let start = line.find(&key)? + key.len();
    let digits: String = line[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_own_stat() {
        let pid = i32::try_from(std::process::id()).unwrap();
        assert!(process_cpu_seconds(pid).unwrap() >= 0.0);
    }

    #[test]
    fn finds_logged_counter() {
        let log = "x\n2026 INFO broker stopped stats=sendfile=10 splice=0 mmap=7 read=0 bytes; y\n";
        assert_eq!(transfer_bytes_logged(log, "sendfile"), Some(10));
        assert_eq!(transfer_bytes_logged(log, "mmap"), Some(7));
    }
}
