//! [`Sluice`]: one run of the `sluice` command.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::STEP_TIMEOUT;
use crate::binaries::binary;

/// A `sluice` invocation being set up. Runs with `--broker ADDR` first and
/// without any `SLUICE_*` variable of the test's environment.
#[derive(Debug)]
pub struct Sluice {
    cmd: Command,
    stdin: Vec<u8>,
    timeout: Duration,
}

/// What a finished run printed.
#[derive(Debug, Clone)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Sluice {
    /// `sluice --broker ADDR`.
    pub fn new(broker: &str) -> Sluice {
        let mut sluice = Sluice::bare();
        sluice.cmd.args(["--broker", broker]);
        sluice
    }

    /// `sluice` with no `--broker` flag.
    pub fn bare() -> Sluice {
        let mut cmd = Command::new(binary("sluice"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("SLUICE_") {
                cmd.env_remove(key);
            }
        }
        Sluice {
            cmd,
            stdin: Vec::new(),
            timeout: STEP_TIMEOUT,
        }
    }

    pub fn args<I, S>(mut self, args: I) -> Sluice
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Sluice {
        self.cmd.env(key, value);
        self
    }

    /// Bytes fed to stdin (then closed).
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Sluice {
        self.stdin = input.into();
        self
    }

    /// Kill the run and fail the test after this long.
    pub fn timeout(mut self, timeout: Duration) -> Sluice {
        self.timeout = timeout;
        self
    }

    /// Runs to completion and returns what it printed, whatever the exit
    /// status. Panics if it outlives its timeout.
    pub fn run(mut self) -> Output {
        let described = format!("{:?}", self.cmd);
        let mut child = self
            .cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sluice");
        let input = std::mem::take(&mut self.stdin);
        let mut stdin = child.stdin.take().expect("piped stdin");
        // A broken pipe (the command exited early) is its business.
        let writer = thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let stdout = read_all(child.stdout.take().expect("piped stdout"));
        let stderr = read_all(child.stderr.take().expect("piped stderr"));

        let deadline = Instant::now() + self.timeout;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for sluice") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = stderr.join().unwrap_or_default();
                panic!(
                    "{described} ran longer than {:?}; stderr:\n{stderr}",
                    self.timeout
                );
            }
            thread::sleep(Duration::from_millis(5));
        };
        let _ = writer.join();
        Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        }
    }

    /// Runs and asserts exit status 0.
    pub fn ok(self) -> Output {
        let described = format!("{:?}", self.cmd);
        let out = self.run();
        assert!(
            out.status.success(),
            "{described} failed with {}; stderr:\n{}",
            out.status,
            out.stderr
        );
        out
    }

    /// Runs and asserts a non-zero exit status with exactly one line on
    /// stderr; returns that line.
    pub fn fails(self) -> String {
        let described = format!("{:?}", self.cmd);
        let out = self.run();
        assert!(
            !out.status.success(),
            "{described} succeeded; stdout:\n{}",
            out.stdout
        );
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "{described}: expected one stderr line, got:\n{}",
            out.stderr
        );
        lines[0].to_owned()
    }
}

fn read_all(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
