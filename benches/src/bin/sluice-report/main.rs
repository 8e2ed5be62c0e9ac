//! `sluice-report`: measures the broker on the machine it runs on and
//! regenerates `docs/benchmarks.md` and `docs/plots/*.svg`.
//!
//! ```text
//! cargo run --release -p sluice-benches --bin sluice-report -- --out docs
//! cargo run --release -p sluice-benches --bin sluice-report -- --quick --out /tmp/report
//! ```
//!
//! # Layout
//!
//! | module | idea |
//! |---|---|
//! | `broker` | the real `sluice-broker` binary as a child process, and its CPU time from `/proc/<pid>/stat` |
//! | `wire` | a blocking client speaking the native protocol: requests, fetch heads, streamed record bytes |
//! | `cpu` | CPU time of the calling thread (`getrusage(RUSAGE_THREAD)`) |
//! | `raw` | the machine's limit: segment file bytes pushed to a loopback socket with read, mmap, sendfile, splice |
//! | `fetch` | consume throughput and broker CPU per GB for each transfer mode and fetch size, with `raw` beside it |
//! | `produce` | produce throughput and latency for acks 0, 1, all with pre-built batches, and with the client `Producer` |
//! | `e2e` | produce-to-receipt latency at a fixed message rate, with the client `Producer` and `Consumer` |
//! | `storage` | runs the storage harness (issue 2) and keeps its block of the report |
//! | `report` | the Markdown: tables, targets, the reading |
//! | `plot` | SVG bar charts with plotters |
//!
//! Every phase is bounded in bytes and in time; each figure is measured
//! `--runs` times, with the configurations interleaved so that machine
//! noise spreads over all of them.

// A measurement harness: a failed measurement aborts the report with its
// error, and the few unwraps are on values that exist by construction.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cpu;
mod e2e;
mod fetch;
mod memory;
mod plot;
mod produce;
mod raw;
mod report;
mod storage;
mod wire;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;

/// Regenerates docs/benchmarks.md and docs/plots/ from fresh measurements.
#[derive(Debug, Parser)]
#[command(name = "sluice-report")]
struct Args {
    /// Directory that receives benchmarks.md and plots/.
    #[arg(long, default_value = "docs")]
    out: PathBuf,
    /// Short smoke run (small data sets, one run each, about a minute).
    #[arg(long)]
    quick: bool,
    /// Repetitions of every measurement (default 5, or 1 with --quick).
    #[arg(long)]
    runs: Option<usize>,
    /// The broker binary; by default `cargo build --release -p sluice-broker`
    /// is run and target/release/sluice-broker used.
    #[arg(long)]
    broker: Option<PathBuf>,
    /// Keep the storage block of an existing report instead of running the
    /// storage harness.
    #[arg(long)]
    skip_storage: bool,
    /// Where broker data directories are created (a temporary directory
    /// inside it, removed at the end). Default: the workspace's target/.
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

/// Sizes and durations of one report, from `--quick` or not.
#[derive(Debug, Clone)]
pub struct Plan {
    pub quick: bool,
    pub runs: usize,
    /// Bytes produced once and consumed in every fetch run.
    pub fetch_data_bytes: u64,
    /// Segment size of the fetch topic; the raw program pushes the sealed ones.
    pub fetch_segment_bytes: u64,
    /// Passes over the data per timed consume (and raw push) run: enough
    /// bytes that a run costs the broker tens of CPU clock ticks.
    pub fetch_passes: usize,
    /// Bytes produced per produce run (1000-byte and 100-byte messages).
    pub produce_bytes_large: u64,
    pub produce_bytes_small: u64,
    /// Bound on one produce or consume run.
    pub run_time_cap: std::time::Duration,
    /// Length of one client-producer run.
    pub client_produce_time: std::time::Duration,
    /// Length of one end-to-end run and its message rate.
    pub e2e_time: std::time::Duration,
    pub e2e_rate: u64,
}

const MIB: u64 = 1 << 20;

impl Plan {
    fn new(quick: bool, runs: Option<usize>) -> Plan {
        use std::time::Duration;
        if quick {
            Plan {
                quick,
                runs: runs.unwrap_or(1).max(1),
                fetch_data_bytes: 160 * MIB,
                fetch_segment_bytes: 16 * MIB,
                fetch_passes: 1,
                produce_bytes_large: 96 * MIB,
                produce_bytes_small: 24 * MIB,
                run_time_cap: Duration::from_secs(3),
                client_produce_time: Duration::from_millis(700),
                e2e_time: Duration::from_secs(2),
                e2e_rate: 10_000,
            }
        } else {
            Plan {
                quick,
                runs: runs.unwrap_or(5).max(1),
                fetch_data_bytes: 1024 * MIB + 24 * MIB,
                fetch_segment_bytes: 64 * MIB,
                fetch_passes: 2,
                produce_bytes_large: 1024 * MIB,
                produce_bytes_small: 256 * MIB,
                run_time_cap: Duration::from_secs(12),
                client_produce_time: Duration::from_secs(3),
                e2e_time: Duration::from_secs(8),
                e2e_rate: 10_000,
            }
        }
    }
}

/// The workspace root (this package lives in `<root>/benches`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// Builds the broker (a no-op when it is up to date) and returns its path
/// and how it was obtained. When the build fails (the tree is mid-edit) but
/// a binary exists, that binary is used and the report says so.
fn broker_binary(root: &Path, given: Option<PathBuf>) -> Result<(PathBuf, String)> {
    if let Some(path) = given {
        anyhow::ensure!(path.exists(), "broker binary {} not found", path.display());
        let how = format!("`{}` (given with --broker)", path.display());
        return Ok((path, how));
    }
    eprintln!("building the broker: cargo build --release -p sluice-broker");
    let status = std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
        .args(["build", "--release", "-p", "sluice-broker"])
        .current_dir(root)
        .status()
        .context("running cargo build for the broker")?;
    let path = target_dir(root).join("release").join("sluice-broker");
    anyhow::ensure!(
        path.exists(),
        "no broker binary at {} (cargo build: {status})",
        path.display()
    );
    let how = if status.success() {
        "`target/release/sluice-broker`, built from the working tree by the report".to_owned()
    } else {
        eprintln!("warning: the broker build failed; using the existing binary");
        "`target/release/sluice-broker` as it was: **the broker build failed when the report ran**, so the binary may be older than the working tree".to_owned()
    };
    Ok((path, how))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let plan = Plan::new(args.quick, args.runs);
    let root = workspace_root();
    let started = Instant::now();
    let (built_bin, broker_source) = broker_binary(&root, args.broker.clone())?;
    let work_parent = args.work_dir.clone().unwrap_or_else(|| target_dir(&root));
    std::fs::create_dir_all(&work_parent)?;
    let work = tempfile::Builder::new()
        .prefix("sluice-report-")
        .tempdir_in(&work_parent)
        .with_context(|| format!("creating a work directory in {}", work_parent.display()))?;
    // A private copy: every run of the report uses the same binary even if
    // someone rebuilds the broker meanwhile.
    let broker_bin = work.path().join("sluice-broker");
    std::fs::copy(&built_bin, &broker_bin)
        .with_context(|| format!("copying {}", built_bin.display()))?;

    let mut env = report::Environment::capture(&plan, command_line(), broker_source, &root);
    eprintln!(
        "sluice-report: {} run(s) each, {}; load average {}",
        plan.runs,
        if plan.quick { "quick" } else { "full" },
        env.load_before
    );

    let fetch = fetch::run(&plan, &broker_bin, work.path())?;
    let produce = produce::run(&plan, &broker_bin, work.path())?;
    let e2e = e2e::run(&plan, &broker_bin, work.path())?;

    let report_path = args.out.join("benchmarks.md");
    let storage = if args.skip_storage {
        storage::keep(&report_path)
    } else {
        // A failing storage harness (say, the tree does not build) must not
        // throw away the broker measurements: keep the old block instead.
        storage::run(&root, plan.quick).unwrap_or_else(|error| {
            eprintln!("warning: {error:#}; keeping the previous storage block");
            storage::keep(&report_path)
        })
    };
    env.finish(started.elapsed());

    let results = report::Results {
        env,
        fetch,
        produce,
        e2e,
    };
    let plots_dir = args.out.join("plots");
    std::fs::create_dir_all(&plots_dir)?;
    let plots = plot::draw_all(&results, &plots_dir)?;
    let mut markdown = report::render(&results, &plots, &storage);
    // Blocks other harnesses wrote stay as they were.
    let previous = std::fs::read_to_string(&report_path).unwrap_or_default();
    if let Some(block) = sluice_benches::blocks::find(&previous, sluice_benches::blocks::PARTITIONS)
    {
        markdown =
            sluice_benches::blocks::replace(&markdown, sluice_benches::blocks::PARTITIONS, block);
    }
    std::fs::write(&report_path, markdown)
        .with_context(|| format!("writing {}", report_path.display()))?;
    eprintln!(
        "wrote {} and {} plot(s) in {:.0} s",
        report_path.display(),
        plots.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The command as a user would type it to get this report again.
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut line = "cargo run --release -p sluice-benches --bin sluice-report --".to_owned();
    for arg in args {
        line.push(' ');
        line.push_str(&arg);
    }
    line
}
