//! One table per figure: fetch (broker, raw, CPU, ratios), produce
//! (pre-built batches and the client `Producer`), end to end.

use std::fmt::Write as _;

use sluice_benches::Samples;

use super::{Results, fmt_samples, per_run_max, ratio};
use crate::e2e::VALUE_BYTES;
use crate::fetch::{self, FETCH_SIZES, FetchResults, size_label};
use crate::plot::Plot;
use crate::produce::{self, ACKS, MESSAGE_SIZES, PERCENTILES};
use crate::raw::Mode;

pub(super) fn render_fetch(md: &mut String, r: &Results, plots: &[Plot]) {
    let f = &r.fetch;
    let _ = writeln!(md, "### Fetch: transfer modes from page cache\n");
    let _ = writeln!(
        md,
        "{} messages of 1000 bytes in batches of {} ({} bytes a batch), {:.0} MiB in {} MiB segments, produced once \
         and warmed by one untimed pass; each run consumes all of it from offset 0 at each fetch size (request and \
         partition `max_bytes` = the fetch size, one fetch at a time, every record byte read into a 1 MiB buffer). \
         The raw program pushes the {:.0} MiB of sealed segment files with the same chunk sizes to a loopback socket. \
         The broker is restarted for each mode on the same data directory.\n",
        f.messages,
        fetch::MESSAGES_PER_BATCH,
        f.batch_bytes,
        f.data_bytes as f64 / 1048576.0,
        f.segment_bytes >> 20,
        f.raw_bytes as f64 / 1048576.0
    );
    for plot in plots.iter().filter(|p| p.file.starts_with("fetch_")) {
        let _ = writeln!(md, "![{}](plots/{})\n", plot.alt, plot.file);
    }

    let _ = writeln!(
        md,
        "**Consume throughput, GB/s** (broker; the raw program's best mode at the same chunk size beside it)\n"
    );
    let _ = writeln!(
        md,
        "| fetch size | read | mmap | sendfile | splice | raw best | broker best / raw best |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for (i, &size) in FETCH_SIZES.iter().enumerate() {
        let mut row = format!("| {} ", size_label(size));
        for mode in Mode::ALL {
            let _ = write!(
                row,
                "| {} ",
                fmt_samples(&f.broker_cell(mode, i).gb_per_s, 2)
            );
        }
        let raw_best_mode = Mode::ALL
            .into_iter()
            .max_by(|a, b| {
                f.raw_cell(*a, i)
                    .gb_per_s
                    .median()
                    .total_cmp(&f.raw_cell(*b, i).gb_per_s.median())
            })
            .unwrap_or(Mode::Read);
        let broker_best = per_run_max(Mode::ALL.iter().map(|&m| &f.broker_cell(m, i).gb_per_s));
        let raw_best = per_run_max(Mode::ALL.iter().map(|&m| &f.raw_cell(m, i).gb_per_s));
        let _ = writeln!(
            row,
            "| {} ({}) | {} |",
            fmt_samples(&f.raw_cell(raw_best_mode, i).gb_per_s, 2),
            raw_best_mode.raw_label(),
            fmt_samples(&ratio(&broker_best, &raw_best), 2)
        );
        md.push_str(&row);
    }
    let _ = writeln!(md, "\n**Raw program (the machine's limit), GB/s**\n");
    table_by_mode(
        md,
        "chunk",
        |m, i| fmt_samples(&f.raw_cell(m, i).gb_per_s, 2),
        true,
        None,
    );

    let _ = writeln!(
        md,
        "\n**Broker CPU seconds per GB fetched** (whole process, `/proc/<pid>/stat`)\n"
    );
    table_by_mode(
        md,
        "fetch size",
        |m, i| fmt_samples(&f.broker_cell(m, i).cpu_s_per_gb, 3),
        false,
        Some(("sendfile / read", &|i| {
            fmt_samples(
                &ratio(
                    &f.broker_cell(Mode::Sendfile, i).cpu_s_per_gb,
                    &f.broker_cell(Mode::Read, i).cpu_s_per_gb,
                ),
                2,
            )
        })),
    );
    let _ = writeln!(
        md,
        "\n**Raw sender thread CPU seconds per GB** (`getrusage(RUSAGE_THREAD)`)\n"
    );
    table_by_mode(
        md,
        "chunk",
        |m, i| fmt_samples(&f.raw_cell(m, i).cpu_s_per_gb, 3),
        true,
        Some(("sendfile / read", &|i| {
            fmt_samples(
                &ratio(
                    &f.raw_cell(Mode::Sendfile, i).cpu_s_per_gb,
                    &f.raw_cell(Mode::Read, i).cpu_s_per_gb,
                ),
                2,
            )
        })),
    );
    let _ = writeln!(
        md,
        "\n**Broker over raw, same mode and size**: throughput ratio / CPU-per-GB ratio\n"
    );
    table_by_mode(
        md,
        "size",
        |m, i| {
            format!(
                "{} / {}",
                fmt_samples(
                    &ratio(&f.broker_cell(m, i).gb_per_s, &f.raw_cell(m, i).gb_per_s),
                    2
                ),
                fmt_samples(
                    &ratio(
                        &f.broker_cell(m, i).cpu_s_per_gb,
                        &f.raw_cell(m, i).cpu_s_per_gb
                    ),
                    2
                )
            )
        },
        false,
        None,
    );
    render_paced(md, f);
    let _ = writeln!(
        md,
        "\n**Receiving side, CPU seconds per GB**: the benchmark's consumer thread (broker) and the raw receiver thread, sendfile\n"
    );
    let _ = writeln!(
        md,
        "| size | consumer of the broker | raw receiver |\n|---|---|---|"
    );
    for (i, &size) in FETCH_SIZES.iter().enumerate() {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            size_label(size),
            fmt_samples(&f.broker_cell(Mode::Sendfile, i).client_cpu_s_per_gb, 3),
            fmt_samples(&f.raw_cell(Mode::Sendfile, i).client_cpu_s_per_gb, 3)
        );
    }
    let c = &f.client_consumer;
    let _ = writeln!(
        md,
        "\n**The sluice-client `Consumer`** (`poll`, default 1 MiB partition fetch, parses every record into a \
         `ConsumerRecord`), sendfile: {} GB/s, broker {} CPU s/GB, consumer {} CPU s/GB. The raw fetch loop above \
         at 1 MiB: {} GB/s.\n",
        fmt_samples(&c.gb_per_s, 2),
        fmt_samples(&c.cpu_s_per_gb, 3),
        fmt_samples(&c.client_cpu_s_per_gb, 3),
        fmt_samples(&f.broker_cell(Mode::Sendfile, 1).gb_per_s, 2)
    );
    if !f.capped.is_empty() {
        let _ = writeln!(
            md,
            "Runs stopped by the time cap before the end of the data (their rate covers what was consumed): {}.\n",
            f.capped.join(", ")
        );
    }
}

/// The raw sendfile program in a consumer's rhythm (one small request per chunk) beside the
/// streaming one and the broker: how much of the broker's CPU per fetch is the rhythm itself.
fn render_paced(md: &mut String, f: &FetchResults) {
    let _ = writeln!(
        md,
        "\n**Raw sendfile, one request per chunk**: the raw program again, but the receiver sends a 48-byte request \
         and waits for a 4-byte head and one chunk before it asks again, as the broker's consumer does (blocking \
         sockets, no framing, no decoding, no runtime). Sender thread CPU seconds per GB beside the streaming raw \
         sendfile and the broker's sendfile, and the broker over each.\n"
    );
    let _ = writeln!(
        md,
        "| size | paced GB/s | paced CPU s/GB | streaming CPU s/GB | broker CPU s/GB | broker / paced | broker / streaming | paced CPU µs per chunk | broker CPU µs per fetch |\n|---|---|---|---|---|---|---|---|---|"
    );
    for (i, &size) in FETCH_SIZES.iter().enumerate() {
        let paced = &f.paced[i];
        let streaming = &f.raw_cell(Mode::Sendfile, i).cpu_s_per_gb;
        let broker = f.broker_cell(Mode::Sendfile, i);
        // CPU per GB times bytes per fetch: CPU per fetch, in µs.
        let per_fetch = |cpu: &Samples, bytes: &Samples| {
            Samples(
                cpu.0
                    .iter()
                    .zip(&bytes.0)
                    .map(|(c, b)| c * b / 1e9 * 1e6)
                    .collect(),
            )
        };
        let paced_per_chunk = Samples(
            paced
                .cpu_s_per_gb
                .0
                .iter()
                .map(|c| c * size as f64 / 1e3)
                .collect(),
        );
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            size_label(size),
            fmt_samples(&paced.gb_per_s, 2),
            fmt_samples(&paced.cpu_s_per_gb, 3),
            fmt_samples(streaming, 3),
            fmt_samples(&broker.cpu_s_per_gb, 3),
            fmt_samples(&ratio(&broker.cpu_s_per_gb, &paced.cpu_s_per_gb), 2),
            fmt_samples(&ratio(&broker.cpu_s_per_gb, streaming), 2),
            fmt_samples(&paced_per_chunk, 1),
            fmt_samples(&per_fetch(&broker.cpu_s_per_gb, &broker.bytes_per_fetch), 1),
        );
    }
}

/// The head of a table of produce cells: `first` names the first column.
fn produce_head(md: &mut String, first: &str) {
    let mut head = format!("| {first} | acks | MB/s | msgs/s (millions) ");
    for (_, label) in PERCENTILES {
        let _ = write!(head, "| {label} ms ");
    }
    let _ = writeln!(md, "{head}|");
    let _ = writeln!(md, "{}|", "|---".repeat(4 + PERCENTILES.len()));
}

/// One produce cell as a table row: throughput, message rate and latency percentiles.
fn produce_row(md: &mut String, label: &str, acks: &str, cell: &produce::ProduceCell) {
    let millions = Samples(cell.msgs_per_s.0.iter().map(|v| v / 1e6).collect());
    let mut row = format!(
        "| {label} | {acks} | {} | {} ",
        fmt_samples(&cell.mb_per_s, 0),
        fmt_samples(&millions, 2)
    );
    for samples in &cell.latency_ms {
        let _ = write!(row, "| {} ", fmt_samples(samples, 2));
    }
    let _ = writeln!(md, "{row}|");
}

type Extra<'a> = Option<(&'a str, &'a dyn Fn(usize) -> String)>;

fn table_by_mode(
    md: &mut String,
    first: &str,
    cell: impl Fn(Mode, usize) -> String,
    raw_labels: bool,
    extra: Extra<'_>,
) {
    let mut head = format!("| {first} ");
    for mode in Mode::ALL {
        let _ = write!(
            head,
            "| {} ",
            if raw_labels {
                mode.raw_label()
            } else {
                mode.name()
            }
        );
    }
    if let Some((name, _)) = extra {
        let _ = write!(head, "| {name} ");
    }
    head.push_str("|\n");
    head.push_str(&"|---".repeat(Mode::ALL.len() + 1 + usize::from(extra.is_some())));
    head.push_str("|\n");
    md.push_str(&head);
    for (i, &size) in FETCH_SIZES.iter().enumerate() {
        let mut row = format!("| {} ", size_label(size));
        for mode in Mode::ALL {
            let _ = write!(row, "| {} ", cell(mode, i));
        }
        if let Some((_, f)) = extra {
            let _ = write!(row, "| {} ", f(i));
        }
        row.push_str("|\n");
        md.push_str(&row);
    }
}

pub(super) fn render_produce(md: &mut String, r: &Results, plots: &[Plot]) {
    let p = &r.produce;
    let _ = writeln!(md, "### Produce\n");
    let _ = writeln!(
        md,
        "Pre-built batches of {} messages ({} bytes a batch for 100-byte messages, {} for 1000-byte), one batch per \
         request, the same bytes each time, on one connection with at most {} requests unanswered. Each configuration \
         produces into its own one-partition topic with {} MiB segments, kept at {} MiB by retention (checked every \
         {} ms) and filled past that once, untimed, before the first run: the steady state of a broker whose \
         retention removes what producers add, where each new segment is written over the file of a segment retention \
         removed (recycled while its pages are still cached) rather than into a new file. Latency is per request, from \
         writing it to reading its answer, under this full load (HDR histogram); acks=0 has no answers, so its run \
         ends with one acks=1 request and has no latency.\n",
        produce::BATCH_MESSAGES,
        p.batch_bytes[0],
        p.batch_bytes[1],
        produce::IN_FLIGHT,
        p.steady_segment_bytes >> 20,
        p.steady_retention_bytes >> 20,
        produce::RETENTION_CHECK_MS,
    );
    for plot in plots.iter().filter(|p| p.file.starts_with("produce_")) {
        let _ = writeln!(md, "![{}](plots/{})\n", plot.alt, plot.file);
    }
    produce_head(md, "message");
    for (s, size) in MESSAGE_SIZES.iter().enumerate() {
        for (a, (_, label)) in ACKS.iter().enumerate() {
            produce_row(md, &format!("{size} B"), label, &p.raw[s][a]);
        }
    }
    let _ = writeln!(
        md,
        "\nFor comparison, 1000-byte messages with acks=1 where segments are new files: the same steady state on a \
         broker with the default transfer mode (`sendfile`, no recycling: each roll takes a new file while retention \
         unlinks an old one), and a **fresh topic per run** (deleted after it) on the mmap broker. In both, every \
         page is newly allocated, zeroed and faulted in, and every block newly allocated.\n"
    );
    produce_head(md, "case");
    produce_row(
        md,
        "1000 B, steady state, sendfile broker",
        "1",
        &p.steady_sendfile,
    );
    produce_row(md, "1000 B, fresh topic", "1", &p.fresh);
    let _ = writeln!(
        md,
        "\nThe disk, for comparison: the same volume as a 1000-byte run written with `write()` in 1 MiB blocks and \
         one `fdatasync` takes {} MB/s.",
        fmt_samples(&p.disk_mb_per_s, 0)
    );
    let _ = writeln!(
        md,
        "\nRight before each run the report writes and frees {} MiB of memory, so the run's fresh page-cache pages \
         come from memory in use a moment ago: this machine is a virtual one whose host takes back memory that stays \
         free for a few seconds, and a first store into such memory runs at about 0.5 GB/s (a broker in steady state \
         recycles its own page cache instead). That warming touch itself ran at {} GB/s.",
        p.warm_bytes >> 20,
        fmt_samples(&p.first_touch_gb_per_s, 2)
    );
    let _ = writeln!(
        md,
        "\n**The sluice-client `Producer`**, one `send` per message (a delivery future each), defaults except \
         `batch_bytes` = 1 MiB (so: linger 5 ms, retries 5, hence one request in flight per partition), for {:.1} s a run. \
         MB/s counts value bytes; latency is per message from `send` to its delivery, at saturation.\n",
        p.client_secs
    );
    let mut head = "| message | acks | MB/s (values) | msgs/s (millions) ".to_owned();
    for (_, label) in PERCENTILES {
        let _ = write!(head, "| {label} ms ");
    }
    let _ = writeln!(md, "{head}|");
    let _ = writeln!(md, "{}|", "|---".repeat(4 + PERCENTILES.len()));
    for (size, acks, cell) in &p.client {
        let mut row = format!(
            "| {size} B | {acks} | {} | {} ",
            fmt_samples(&cell.mb_per_s, 0),
            fmt_samples(
                &Samples(cell.msgs_per_s.0.iter().map(|v| v / 1e6).collect()),
                3
            )
        );
        for samples in &cell.latency_ms {
            let _ = write!(row, "| {} ", fmt_samples(samples, 1));
        }
        let _ = writeln!(md, "{row}|");
    }
    md.push('\n');
    if !p.capped.is_empty() {
        let _ = writeln!(
            md,
            "Runs stopped by the time cap before their byte budget: {}.\n",
            p.capped.join(", ")
        );
    }
}

pub(super) fn render_e2e(md: &mut String, r: &Results, plots: &[Plot]) {
    let e = &r.e2e;
    let _ = writeln!(md, "### End-to-end latency\n");
    let _ = writeln!(
        md,
        "{} messages/s of {} bytes for {:.0} s a run, sluice-client `Producer` (acks=1, linger 0) to sluice-client \
         `Consumer` (`poll`, long-poll fetch with `fetch_min_bytes` 1) in one process; latency from `send` to the \
         record coming out of `poll`, every message recorded. Achieved rate: {} msg/s; messages per run: {}.\n",
        e.rate,
        VALUE_BYTES,
        e.secs,
        fmt_samples(&e.achieved_rate, 0),
        fmt_samples(&e.messages, 0)
    );
    for plot in plots.iter().filter(|p| p.file.starts_with("e2e_")) {
        let _ = writeln!(md, "![{}](plots/{})\n", plot.alt, plot.file);
    }
    let mut head = String::new();
    let mut row = String::new();
    for (i, (_, label)) in PERCENTILES.iter().enumerate() {
        let _ = write!(head, "| {label} ms ");
        let _ = write!(row, "| {} ", fmt_samples(&e.latency_ms[i], 2));
    }
    let _ = writeln!(
        md,
        "{head}|\n{}|\n{row}|\n",
        "|---".repeat(PERCENTILES.len())
    );
}
