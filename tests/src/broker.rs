//! [`Broker`]: one `sluice-broker` process on a loopback port.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::STEP_TIMEOUT;
use crate::binaries::binary;
use crate::cli::Sluice;

/// A running broker. Its directory (`data/` and `broker.log`) lives as
/// long as the value, across [`kill`](Broker::kill) and
/// [`restart`](Broker::restart); dropping the value kills the process
/// (SIGKILL) and removes the directory.
#[derive(Debug)]
pub struct Broker {
    /// `None` while killed.
    child: Option<Child>,
    addr: SocketAddr,
    /// The Kafka listener, when started with [`BrokerOptions::kafka`].
    kafka_addr: Option<SocketAddr>,
    /// Flags passed on every (re)start.
    args: Vec<String>,
    /// The data directory is a tmpfs this value mounted (and unmounts on drop).
    tmpfs: bool,
    dir: TempDir,
}

/// How [`Broker::start_with`] starts the broker.
#[derive(Debug, Clone, Default)]
pub struct BrokerOptions {
    /// Also serve the Kafka protocol (`--kafka-listen`) on a free loopback
    /// port; see [`Broker::kafka_addr`].
    pub kafka: bool,
    /// More flags, passed as they are (`--group-initial-rebalance-delay-ms
    /// 100`, ...).
    pub args: Vec<String>,
    /// Put the data directory on a tmpfs of this size (`64m`), for a disk that fills up.
    /// Mounting needs root: [`Broker::start_with`] panics without it when `CI=true`, and
    /// elsewhere [`Broker::try_start_with`] returns `None`.
    pub tmpfs: Option<String>,
}

impl Broker {
    /// Starts a broker on a free port with an empty data directory and
    /// waits until it accepts connections.
    pub fn start() -> Broker {
        Broker::start_with(BrokerOptions::default())
    }

    /// [`start`](Self::start) with a Kafka listener and more flags.
    pub fn start_with(options: BrokerOptions) -> Broker {
        Broker::try_start_with(options).expect("cannot mount a tmpfs here (needs root)")
    }

    /// [`start_with`](Self::start_with), or `None` when the options ask for a tmpfs that
    /// cannot be mounted here (not root) and this is not CI (where that is a failure).
    pub fn try_start_with(options: BrokerOptions) -> Option<Broker> {
        let dir = tempfile::Builder::new()
            .prefix("sluice-e2e-")
            .tempdir()
            .expect("create a temporary directory");
        if let Some(size) = &options.tmpfs {
            let data = dir.path().join("data");
            std::fs::create_dir_all(&data).expect("create the data directory");
            let mounted = Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
                .arg(&data)
                .status()
                .is_ok_and(|s| s.success());
            if !mounted {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "CI must be able to mount a tmpfs"
                );
                eprintln!("skipping: cannot mount a tmpfs here (needs root)");
                return None;
            }
        }
        // The port was free when asked for, but another process may take
        // it before the broker binds: try a few.
        let mut last_error = String::new();
        for _ in 0..5 {
            let addr = free_port();
            let kafka_addr = options.kafka.then(free_port);
            match spawn(dir.path(), addr, kafka_addr, &options.args) {
                Ok(child) => {
                    return Some(Broker {
                        child: Some(child),
                        addr,
                        kafka_addr,
                        args: options.args,
                        tmpfs: options.tmpfs.is_some(),
                        dir,
                    });
                }
                Err(e) => last_error = e,
            }
        }
        if options.tmpfs.is_some() {
            let _ = Command::new("umount").arg(dir.path().join("data")).status();
        }
        panic!("the broker did not start: {last_error}");
    }

    /// `HOST:PORT`, for `--broker`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// The Kafka listener's address. Panics unless the broker was started
    /// with [`BrokerOptions::kafka`].
    pub fn kafka_addr(&self) -> SocketAddr {
        self.kafka_addr
            .expect("the broker was started without a Kafka listener")
    }

    /// The broker's process id, while it runs (for `/proc/<pid>` readings).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The broker's `--data-dir`.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The end of the broker's log, for failure messages.
    pub fn log_tail(&self) -> String {
        log_tail(self.dir.path())
    }

    /// Kills the broker with SIGKILL and reaps it: no shutdown code runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Child::kill sends SIGKILL on Unix.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the broker with SIGTERM (a clean shutdown) and waits for it to exit, at most
    /// [`STEP_TIMEOUT`]; panics if it does not exit cleanly.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("a pid"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    assert!(
                        status.success(),
                        "broker exited with {status}; log:\n{}",
                        self.log_tail()
                    );
                    return;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = child.kill();
                    panic!(
                        "the broker did not stop within {STEP_TIMEOUT:?}; log:\n{}",
                        self.log_tail()
                    );
                }
            }
        }
    }

    /// Starts the broker again on the same data directory and port, and
    /// waits until it accepts connections (recovery is done by then).
    pub fn restart(&mut self) {
        self.kill();
        match spawn(self.dir.path(), self.addr, self.kafka_addr, &self.args) {
            Ok(child) => self.child = Some(child),
            Err(e) => panic!("the broker did not restart: {e}"),
        }
    }

    /// A `sluice` command pointed at this broker.
    pub fn sluice<I, S>(&self, args: I) -> Sluice
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Sluice::new(&self.addr()).args(args)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
        if self.tmpfs {
            let _ = Command::new("umount").arg(self.data_dir()).status();
        }
    }
}

/// Spawns a broker on `dir/data`, logging to `dir/broker.log`, and waits
/// until it accepts connections on `addr` (and `kafka_addr`).
fn spawn(
    dir: &Path,
    addr: SocketAddr,
    kafka_addr: Option<SocketAddr>,
    args: &[String],
) -> Result<Child, String> {
    let log = File::options()
        .create(true)
        .append(true)
        .open(dir.join("broker.log"))
        .map_err(|e| format!("open the broker log: {e}"))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("clone the log handle: {e}"))?;
    let mut cmd = Command::new(binary("sluice-broker"));
    cmd.arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--listen")
        .arg(addr.to_string())
        .args(
            kafka_addr
                .into_iter()
                .flat_map(|k| ["--kafka-listen".to_owned(), k.to_string()]),
        )
        .args(args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    // The broker reads SLUICE_* settings: the tests' environment must not
    // change it.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SLUICE_") {
            cmd.env_remove(key);
        }
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("spawn sluice-broker: {e}"))?;

    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "broker exited with {status}; log:\n{}",
                log_tail(dir)
            ));
        }
        let accepts =
            |a: &SocketAddr| TcpStream::connect_timeout(a, Duration::from_millis(200)).is_ok();
        if accepts(&addr) && kafka_addr.as_ref().is_none_or(accepts) {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "broker not accepting connections on {addr} after {STEP_TIMEOUT:?}; log:\n{}",
                log_tail(dir)
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn log_tail(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("broker.log")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// A loopback address whose port was free a moment ago.
fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener
        .local_addr()
        .expect("local address of a bound socket")
}
