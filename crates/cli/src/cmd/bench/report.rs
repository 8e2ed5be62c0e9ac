//! What a bench run reports, and how: latencies in an HDR histogram, the
//! summary as text or JSON, and the live progress bar.

use std::time::Duration;

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// Latencies in microseconds, 3 significant digits, up to an hour.
#[derive(Debug, Clone)]
pub struct Latencies(Histogram<u64>);

const MAX_LATENCY_US: u64 = 3_600_000_000;

impl Latencies {
    pub fn new() -> Latencies {
        // Bounds are constants that hdrhistogram accepts: 1 <= low,
        // high >= 2 * low, sigfig <= 5.
        #[allow(clippy::expect_used)]
        let histogram =
            Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds");
        Latencies(histogram)
    }

    /// Records one latency; values beyond an hour count as an hour.
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(us.clamp(1, MAX_LATENCY_US));
    }

    pub fn merge(&mut self, other: &Latencies) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    #[cfg(test)]
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    pub fn summary(&self) -> LatencySummary {
        let ms = |us: u64| round3(us as f64 / 1000.0);
        LatencySummary {
            p50: ms(self.0.value_at_quantile(0.50)),
            p95: ms(self.0.value_at_quantile(0.95)),
            p99: ms(self.0.value_at_quantile(0.99)),
            p99_9: ms(self.0.value_at_quantile(0.999)),
            max: ms(self.0.max()),
            mean: round3(self.0.mean() / 1000.0),
        }
    }
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
    pub mean: f64,
}

/// The result of one bench run. Serialized as is for `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `produce` or `consume`.
    pub bench: &'static str,
    pub topic: String,
    /// Messages acknowledged (produce) or read (consume).
    pub messages: u64,
    /// Key and value bytes of those messages.
    pub bytes: u64,
    /// Messages that failed (produce).
    pub errors: u64,
    pub elapsed_secs: f64,
    pub messages_per_sec: f64,
    /// Megabytes (10^6 bytes) of key and value data per second.
    pub mb_per_sec: f64,
    /// What the latency measures.
    pub latency: &'static str,
    pub latency_ms: LatencySummary,
    /// The run's parameters.
    pub settings: serde_json::Value,
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        bench: &'static str,
        topic: &str,
        messages: u64,
        bytes: u64,
        errors: u64,
        elapsed: Duration,
        latency: &'static str,
        latencies: &Latencies,
        settings: serde_json::Value,
    ) -> Report {
        let secs = elapsed.as_secs_f64().max(1e-9);
        Report {
            bench,
            topic: topic.to_owned(),
            messages,
            bytes,
            errors,
            elapsed_secs: round3(elapsed.as_secs_f64()),
            messages_per_sec: round3(messages as f64 / secs),
            mb_per_sec: round3(bytes as f64 / 1e6 / secs),
            latency,
            latency_ms: latencies.summary(),
            settings,
        }
    }

    /// Prints the report on stdout: one JSON object, or a few lines.
    pub fn print(&self, json: bool) -> anyhow::Result<()> {
        if json {
            println!("{}", serde_json::to_string(self)?);
        } else {
            print!("{}", self.text());
        }
        Ok(())
    }

    fn text(&self) -> String {
        let l = &self.latency_ms;
        format!(
            "bench {}: {} messages, {} bytes to/from {} in {:.3} s ({} errors)\n\
             throughput: {:.0} msg/s, {:.2} MB/s\n\
             latency ({}), ms: p50 {:.3}  p95 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}  mean {:.3}\n\
             settings: {}\n",
            self.bench,
            self.messages,
            self.bytes,
            self.topic,
            self.elapsed_secs,
            self.errors,
            self.messages_per_sec,
            self.mb_per_sec,
            self.latency,
            l.p50,
            l.p95,
            l.p99,
            l.p99_9,
            l.max,
            l.mean,
            self.settings
        )
    }
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress_bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let template = format!(
        "{what} [{{elapsed_precise}}] {{wide_bar}} {{human_pos}}/{{human_len}} ({{per_sec}}, eta {{eta}})"
    );
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let mut l = Latencies::new();
        for ms in 1..=1000u64 {
            l.record(Duration::from_millis(ms));
        }
        let s = l.summary();
        assert!((s.p50 - 500.0).abs() < 1.0, "{s:?}");
        assert!((s.p99 - 990.0).abs() < 1.0, "{s:?}");
        assert!((s.max - 1000.0).abs() < 1.0, "{s:?}");
        let mut other = Latencies::new();
        other.record(Duration::from_secs(7200));
        l.merge(&other);
        assert_eq!(l.len(), 1001);
        assert!((l.summary().max - 3_600_000.0).abs() < 3_600.0);
    }

    #[test]
    fn report_json_has_the_fields() {
        let mut l = Latencies::new();
        l.record(Duration::from_micros(1500));
        let r = Report::new(
            "produce",
            "t",
            1000,
            1_000_000,
            0,
            Duration::from_secs(2),
            "send -> ack",
            &l,
            serde_json::json!({"acks": "1"}),
        );
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(v["messages_per_sec"], 500.0);
        assert_eq!(v["mb_per_sec"], 0.5);
        assert_eq!(v["latency_ms"]["p50"], 1.5);
        assert!(r.text().contains("p99.9"));
    }
}
