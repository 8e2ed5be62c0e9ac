//! The reading: sentences built from the measured values, with fixed
//! thresholds for "wins", "loses" and "no clear difference", and the
//! transfer mode the numbers pick as the default.

use std::fmt::Write as _;

use super::{Results, SAME, compare, overlap};
use crate::fetch::{FETCH_SIZES, FetchResults, size_label};
use crate::raw::Mode;

/// The best broker mode and fetch size, and the best raw mode and chunk,
/// by median throughput.
pub(super) fn best(fetch: &FetchResults, raw: bool) -> (Mode, usize, f64) {
    let mut best = (Mode::Sendfile, 0, f64::MIN);
    for mode in Mode::ALL {
        for i in 0..FETCH_SIZES.len() {
            let cell = if raw {
                fetch.raw_cell(mode, i)
            } else {
                fetch.broker_cell(mode, i)
            };
            let m = cell.gb_per_s.median();
            if m > best.2 {
                best = (mode, i, m);
            }
        }
    }
    best
}

/// The mode the numbers pick as default: among modes within [`SAME`] of the
/// fastest at every fetch size, the one with the least mean CPU per GB; if
/// no mode is, the best mean of throughput relative to the fastest.
fn recommend(f: &FetchResults) -> (Mode, String) {
    let fastest: Vec<f64> = (0..FETCH_SIZES.len())
        .map(|i| {
            Mode::ALL
                .iter()
                .map(|&m| f.broker_cell(m, i).gb_per_s.median())
                .fold(0.0, f64::max)
        })
        .collect();
    let near = |m: Mode| {
        (0..FETCH_SIZES.len())
            .all(|i| f.broker_cell(m, i).gb_per_s.median() >= fastest[i] * (1.0 - SAME))
    };
    let mean_cpu = |m: Mode| {
        (0..FETCH_SIZES.len())
            .map(|i| f.broker_cell(m, i).cpu_s_per_gb.median())
            .sum::<f64>()
            / FETCH_SIZES.len() as f64
    };
    let candidates: Vec<Mode> = Mode::ALL.into_iter().filter(|&m| near(m)).collect();
    if let Some(&m) = candidates
        .iter()
        .min_by(|a, b| mean_cpu(**a).total_cmp(&mean_cpu(**b)))
    {
        let names: Vec<&str> = candidates.iter().map(|m| m.name()).collect();
        return (
            m,
            format!(
                "within {:.0}% of the fastest mode at every fetch size: {}; of these, {} uses the least broker CPU ({:.3} s/GB averaged over the fetch sizes)",
                SAME * 100.0,
                names.join(", "),
                m.name(),
                mean_cpu(m)
            ),
        );
    }
    let rel = |m: Mode| {
        (0..FETCH_SIZES.len())
            .map(|i| f.broker_cell(m, i).gb_per_s.median() / fastest[i])
            .sum::<f64>()
            / FETCH_SIZES.len() as f64
    };
    let m = Mode::ALL
        .into_iter()
        .max_by(|a, b| rel(*a).total_cmp(&rel(*b)))
        .unwrap_or(Mode::Sendfile);
    (
        m,
        format!(
            "no mode is within {:.0}% of the fastest at every fetch size; {} comes closest on average ({:.0}% of the fastest)",
            SAME * 100.0,
            m.name(),
            rel(m) * 100.0
        ),
    )
}

pub(super) fn render_reading(md: &mut String, r: &Results) {
    let f = &r.fetch;
    let _ = writeln!(md, "### Reading the numbers\n");
    let n = FETCH_SIZES.len();
    let big = n - 1;
    let mid = 1;

    // 1. The machine: what zero copy does for a plain sender on loopback.
    let raw = |m: Mode, i: usize| f.raw_cell(m, i);
    let mut s = String::from("- **The machine (raw program).** ");
    for (i, &size) in FETCH_SIZES.iter().enumerate() {
        let sf = raw(Mode::Sendfile, i);
        let rd = raw(Mode::Read, i);
        let _ = write!(
            s,
            "{}: sendfile {:.2} GB/s at {:.3} CPU s/GB vs pread+write {:.2} GB/s at {:.3} s/GB (throughput {}, sender CPU {}). ",
            size_label(size),
            sf.gb_per_s.median(),
            sf.cpu_s_per_gb.median(),
            rd.gb_per_s.median(),
            rd.cpu_s_per_gb.median(),
            compare(
                sf.gb_per_s.median(),
                rd.gb_per_s.median(),
                "higher",
                "lower"
            ),
            compare(
                sf.cpu_s_per_gb.median(),
                rd.cpu_s_per_gb.median(),
                "more",
                "less"
            ),
        );
    }
    let receiver = raw(Mode::Sendfile, mid).client_cpu_s_per_gb.median();
    let sender_read = raw(Mode::Read, mid).cpu_s_per_gb.median();
    let _ = write!(
        s,
        "On loopback the receiver copies every byte out of the socket anyway ({receiver:.3} CPU s/GB for the raw receiver at 1 MiB, \
         against {sender_read:.3} s/GB for the whole pread+write sender), and the two threads share {} cores with the sender, \
         so a copy saved on the sending side {}.",
        r.env.cores,
        if raw(Mode::Sendfile, mid).gb_per_s.median()
            > raw(Mode::Read, mid).gb_per_s.median() * (1.0 + SAME)
        {
            "does show as speed here"
        } else {
            "does not show as speed here"
        }
    );
    let _ = writeln!(md, "{s}");

    // 2. The broker: sendfile against read at each size. A difference
    // counts only when it is larger than SAME and the runs' ranges do not
    // overlap.
    let mut wins = Vec::new();
    let mut loses = Vec::new();
    let mut unclear = Vec::new();
    let mut s = String::from("- **The broker, sendfile against read.** ");
    for (i, &size) in FETCH_SIZES.iter().enumerate() {
        let sf = f.broker_cell(Mode::Sendfile, i);
        let rd = f.broker_cell(Mode::Read, i);
        let cpu = sf.cpu_s_per_gb.median() / rd.cpu_s_per_gb.median();
        let speed = sf.gb_per_s.median() / rd.gb_per_s.median();
        let speed_clear = !overlap(&sf.gb_per_s, &rd.gb_per_s);
        let cpu_clear = !overlap(&sf.cpu_s_per_gb, &rd.cpu_s_per_gb);
        let _ = write!(
            s,
            "{}: {:.2} vs {:.2} GB/s ({speed:.2}x{}), CPU per GB {cpu:.2}x of read's{}. ",
            size_label(size),
            sf.gb_per_s.median(),
            rd.gb_per_s.median(),
            if speed_clear { "" } else { ", ranges overlap" },
            if cpu_clear { "" } else { " (ranges overlap)" },
        );
        let better = (cpu_clear && cpu <= 1.0 - SAME) || (speed_clear && speed >= 1.0 + SAME);
        let worse = (cpu_clear && cpu >= 1.0 + SAME) || (speed_clear && speed <= 1.0 - SAME);
        match (better, worse) {
            (true, false) => wins.push(size_label(size)),
            (false, true) => loses.push(size_label(size)),
            _ => unclear.push(size_label(size)),
        }
    }
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    let _ = write!(
        s,
        "Counting only differences of more than {:.0}% whose ranges over the runs do not overlap, zero copy wins at: {}; \
         loses at: {}; shows no clear difference at: {}.",
        SAME * 100.0,
        list(&wins),
        list(&loses),
        list(&unclear)
    );
    if r.env.runs < 3 {
        s.push_str(" With fewer than 3 runs there is no spread to judge by, so these verdicts are not to be trusted.");
    }
    let _ = writeln!(md, "{s}");

    // 3. Small fetches.
    let best_at = |i: usize| {
        Mode::ALL
            .iter()
            .map(|&m| f.broker_cell(m, i).gb_per_s.median())
            .fold(0.0, f64::max)
    };
    let sf0 = f.broker_cell(Mode::Sendfile, 0);
    let per_fetch = sf0.bytes_per_fetch.median();
    let fetches_per_s = sf0.gb_per_s.median() * 1e9 / per_fetch;
    let broker_us = sf0.cpu_s_per_gb.median() * per_fetch / 1e3;
    let raw_us = raw(Mode::Sendfile, 0).cpu_s_per_gb.median() * per_fetch / 1e3;
    let paced_us = f.paced[0].cpu_s_per_gb.median() * per_fetch / 1e3;
    let _ = writeln!(
        md,
        "- **Small fetches.** At 64 KiB the best mode reaches {:.2} GB/s, {:.0}% of its {:.2} GB/s at 1 MiB. A 64 KiB fetch \
         carries {:.1} KB (whole batches only); with sendfile the broker answers {:.0} fetches/s and spends {:.0} us of CPU \
         per fetch. The streaming raw program spends {:.0} us to send the same bytes with sendfile; paced by one small \
         request per chunk, it spends {:.0} us: {:.0} us per fetch are the request/response rhythm itself (a wake-up \
         and a small read per fetch on this virtual machine's loopback), which the streaming program never pays and \
         no transfer mode can save, and the remaining {:.0} us are the broker's own (its runtime's wake-ups, \
         decoding, the log lookup, the response head). The raw program at 64 KiB chunks (no requests at all) \
         reaches {:.2} GB/s with its best mode.",
        best_at(0),
        best_at(0) / best_at(mid) * 100.0,
        best_at(mid),
        per_fetch / 1e3,
        fetches_per_s,
        broker_us,
        raw_us,
        paced_us,
        paced_us - raw_us,
        broker_us - paced_us,
        Mode::ALL
            .iter()
            .map(|&m| raw(m, 0).gb_per_s.median())
            .fold(0.0, f64::max)
    );

    // 4. Broker against the machine.
    let (bm, bi, bv) = best(f, false);
    let (rm, ri, rv) = best(f, true);
    let _ = writeln!(
        md,
        "- **The broker against the machine.** Best broker configuration {} at {} fetches, {bv:.2} GB/s; best raw \
         configuration {} at {} chunks, {rv:.2} GB/s: the broker delivers {:.0}% of the machine's limit{}. With sendfile \
         at 16 MiB the broker spends {:.2}x the raw sendfile program's CPU per GB.",
        bm.name(),
        size_label(FETCH_SIZES[bi]),
        rm.raw_label(),
        size_label(FETCH_SIZES[ri]),
        bv / rv * 100.0,
        if bv > rv {
            " (more than 100%: the broker is at the limit, within this machine's run-to-run noise)"
        } else {
            ""
        },
        f.broker_cell(Mode::Sendfile, big).cpu_s_per_gb.median()
            / f.raw_cell(Mode::Sendfile, big).cpu_s_per_gb.median()
    );

    // 5. Default mode.
    let (mode, why) = recommend(f);
    let _ = writeln!(
        md,
        "- **Default transfer mode.** The broker defaults to sendfile. By these numbers it should default to **{}**: {}. {}",
        mode.name(),
        why,
        if mode == Mode::Sendfile {
            "The default stands."
        } else {
            "This is a loopback measurement: on a real network the receiver's copy happens on another machine and \
             the sender's CPU per GB decides how many consumers one broker core can feed, which is where the \
             zero-copy modes' CPU figures above matter; measure there before changing the default."
        }
    );

    // 6. Produce.
    let p = &r.produce;
    let a0 = &p.raw[1][0].mb_per_s;
    let a1 = &p.raw[1][1].mb_per_s;
    let aall = &p.raw[1][2].mb_per_s;
    let disk = p.disk_mb_per_s.median();
    let fastest = a1.median().max(aall.median());
    let disk_note = if disk < fastest {
        format!(
            "the disk probe between the runs took {disk:.0} MB/s at its median, below these rates, and ranged from \
             {:.0} to {:.0} MB/s: this machine's disk is shared and its speed swings from run to run, so it gives no \
             steady bound here",
            p.disk_mb_per_s.spread().min,
            p.disk_mb_per_s.spread().max
        )
    } else if disk < 1.2 * fastest {
        format!(
            "the disk, measured between the runs, takes only {disk:.0} MB/s, close to or below these rates, so it \
             may well be what bounds them on this machine"
        )
    } else {
        format!(
            "the disk, measured between the runs, takes {disk:.0} MB/s, well above these rates, so it is not what \
             bounds them"
        )
    };
    let flush_cost = if overlap(aall, a1) {
        format!("acks=all and acks=1 are not clearly apart (their ranges overlap); {disk_note}")
    } else if aall.median() < a1.median() {
        format!(
            "acks=all reaches {:.0}% of acks=1, the price of answering only after the flush (shared by group \
             commit); {disk_note}",
            aall.median() / a1.median() * 100.0
        )
    } else {
        format!(
            "acks=all is faster than acks=1 here ({:.2}x), so waiting for the flush is not what limits acks=1; \
             {disk_note}",
            aall.median() / a1.median()
        )
    };
    let client = p.client[0].2.mb_per_s.median();
    let _ = writeln!(
        md,
        "- **Produce.** With 1000-byte messages acks=0 reaches {:.0} MB/s, acks=1 {:.0} MB/s and acks=all {:.0} MB/s; \
         {flush_cost}. 100-byte messages reach {:.2} million messages/s with acks=1 ({:.0} MB/s: per-batch and \
         per-request costs weigh more). Through the client `Producer` (one call per message) 1000-byte messages reach \
         {client:.0} MB/s of values with acks=1, {:.0}% of the pre-built-batch rate{}. Where every segment is a new \
         file, acks=1 reaches {:.0} MB/s in the same steady state with the default `sendfile` (which rules out \
         recycling) and {:.0} MB/s into a fresh topic ({:.2}x and {:.2}x the recycling steady state): on this \
         virtual machine new page-cache pages are what costs, the first touch of memory the host has taken back \
         most of all. So the produce rate with the default transfer mode is bounded by page allocation here; a \
         deployment that fetches with `mmap` (at the CPU cost per GB in the fetch tables) gets recycling.",
        a0.median(),
        a1.median(),
        aall.median(),
        p.raw[0][1].msgs_per_s.median() / 1e6,
        p.raw[0][1].mb_per_s.median(),
        client / a1.median() * 100.0,
        if client < 0.8 * a1.median() {
            ": there the client's per-message path, not the broker, is the limit"
        } else {
            ""
        },
        p.steady_sendfile.mb_per_s.median(),
        p.fresh.mb_per_s.median(),
        p.steady_sendfile.mb_per_s.median() / a1.median(),
        p.fresh.mb_per_s.median() / a1.median(),
    );
    let e = &r.e2e;
    let _ = writeln!(
        md,
        "- **End to end.** At {} msg/s, half the messages come out of the consumer within {:.2} ms of `send`, 99% within {:.2} ms, \
         99.9% within {:.2} ms; the worst took {:.2} ms.\n",
        e.rate,
        e.latency_ms[0].median(),
        e.latency_ms[2].median(),
        e.latency_ms[3].median(),
        e.latency_ms[4].median()
    );
}
