//! SVG bar charts of the report's figures, drawn with plotters' SVG backend
//! (text is written as `<text>` elements, so no font library is needed).
//! Each bar is a median; its whisker spans the min-max of the runs.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use sluice_benches::Spread;

use crate::fetch::{FETCH_SIZES, size_label};
use crate::produce::{ACKS, MESSAGE_SIZES, PERCENTILES};
use crate::raw::Mode;
use crate::report::Results;

/// One series of bars: a value per group.
struct Series {
    name: String,
    color: RGBColor,
    values: Vec<Option<Spread>>,
}

struct BarChart {
    title: String,
    y_label: String,
    groups: Vec<String>,
    series: Vec<Series>,
}

/// A plot written, for the report to link.
#[derive(Debug, Clone)]
pub struct Plot {
    pub file: String,
    pub alt: String,
}

const MODE_COLORS: [RGBColor; 4] = [
    RGBColor(0x4c, 0x72, 0xb0),
    RGBColor(0x55, 0xa8, 0x68),
    RGBColor(0xc4, 0x4e, 0x52),
    RGBColor(0x81, 0x72, 0xb3),
];

/// The color halfway to white: the raw program beside the broker's mode.
fn light(c: RGBColor) -> RGBColor {
    let mix = |v: u8| ((u16::from(v) + 255) / 2) as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

fn spread_of(samples: &sluice_benches::Samples) -> Option<Spread> {
    (!samples.is_empty()).then(|| samples.spread())
}

pub fn draw_all(results: &Results, dir: &Path) -> Result<Vec<Plot>> {
    let mut plots = Vec::new();
    let sizes: Vec<String> = FETCH_SIZES.iter().map(|&s| size_label(s)).collect();
    let f = &results.fetch;

    let fetch_series = |pick: &dyn Fn(&crate::fetch::Cell) -> &sluice_benches::Samples| {
        let mut series = Vec::new();
        for mode in Mode::ALL {
            series.push(Series {
                name: format!("broker {}", mode.name()),
                color: MODE_COLORS[mode.index()],
                values: (0..FETCH_SIZES.len())
                    .map(|i| spread_of(pick(f.broker_cell(mode, i))))
                    .collect(),
            });
        }
        for mode in Mode::ALL {
            series.push(Series {
                name: format!("raw {}", mode.raw_label()),
                color: light(MODE_COLORS[mode.index()]),
                values: (0..FETCH_SIZES.len())
                    .map(|i| spread_of(pick(f.raw_cell(mode, i))))
                    .collect(),
            });
        }
        series
    };

    let chart = BarChart {
        title: "Consume throughput from page cache, 1000-byte messages".into(),
        y_label: "GB/s".into(),
        groups: sizes.iter().map(|s| format!("fetch / chunk {s}")).collect(),
        series: fetch_series(&|c| &c.gb_per_s),
    };
    plots.push(write(
        dir,
        "fetch_throughput.svg",
        &chart,
        "consume throughput per transfer mode and fetch size, broker beside the raw program",
    )?);

    let chart = BarChart {
        title: "CPU per GB sent: broker process vs raw sender thread".into(),
        y_label: "CPU seconds per GB".into(),
        groups: sizes.iter().map(|s| format!("fetch / chunk {s}")).collect(),
        series: fetch_series(&|c| &c.cpu_s_per_gb),
    };
    plots.push(write(
        dir,
        "fetch_cpu.svg",
        &chart,
        "CPU seconds per GB per transfer mode and fetch size",
    )?);

    let p = &results.produce;
    let chart = BarChart {
        title: "Produce throughput, pre-built batches of 1000 messages".into(),
        y_label: "MB/s (stored batch bytes)".into(),
        groups: ACKS.iter().map(|(_, l)| format!("acks={l}")).collect(),
        series: MESSAGE_SIZES
            .iter()
            .enumerate()
            .map(|(s, size)| Series {
                name: format!("{size}-byte messages"),
                color: MODE_COLORS[s * 2],
                values: (0..ACKS.len())
                    .map(|a| spread_of(&p.raw[s][a].mb_per_s))
                    .collect(),
            })
            .collect(),
    };
    plots.push(write(
        dir,
        "produce_throughput.svg",
        &chart,
        "produce throughput per acks level and message size",
    )?);

    let mut groups = Vec::new();
    let mut cells = Vec::new();
    for (s, size) in MESSAGE_SIZES.iter().enumerate() {
        for (a, (_, label)) in ACKS.iter().enumerate().skip(1) {
            groups.push(format!("{size} B acks={label}"));
            cells.push(&p.raw[s][a]);
        }
    }
    let chart = BarChart {
        title: "Produce request latency (send to answer), 5 in flight".into(),
        y_label: "ms".into(),
        groups,
        series: [0usize, 2, 3]
            .iter()
            .enumerate()
            .map(|(k, &pi)| Series {
                name: PERCENTILES[pi].1.into(),
                color: MODE_COLORS[k],
                values: cells.iter().map(|c| spread_of(&c.latency_ms[pi])).collect(),
            })
            .collect(),
    };
    plots.push(write(
        dir,
        "produce_latency.svg",
        &chart,
        "produce request latency percentiles",
    )?);

    let e = &results.e2e;
    let chart = BarChart {
        title: format!("End-to-end latency at {} msg/s", e.rate),
        y_label: "ms".into(),
        groups: PERCENTILES.iter().map(|(_, l)| (*l).to_owned()).collect(),
        series: vec![Series {
            name: "produce -> consumer poll".into(),
            color: MODE_COLORS[0],
            values: e.latency_ms.iter().map(spread_of).collect(),
        }],
    };
    plots.push(write(
        dir,
        "e2e_latency.svg",
        &chart,
        "end-to-end latency percentiles",
    )?);
    Ok(plots)
}

fn write(dir: &Path, file: &str, chart: &BarChart, alt: &str) -> Result<Plot> {
    draw(&dir.join(file), chart).map_err(|e| anyhow!("drawing {file}: {e}"))?;
    Ok(Plot {
        file: file.to_owned(),
        alt: alt.to_owned(),
    })
}

/// Width of the legend column right of the plot.
const LEGEND_WIDTH: u32 = 200;

fn draw(path: &Path, chart: &BarChart) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (960, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(&chart.title, ("sans-serif", 22))?;
    // The legend gets its own column so it never hides a bar.
    let (plot_area, legend_area) = root.split_horizontally(960 - LEGEND_WIDTH);
    let n = chart.groups.len();
    let top = chart
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .map(|v| v.max)
        .fold(0.0f64, f64::max);
    let top = if top > 0.0 { top * 1.1 } else { 1.0 };
    let decimals = if top >= 20.0 {
        0
    } else if top >= 2.0 {
        1
    } else {
        2
    };
    let mut ctx = ChartBuilder::on(&plot_area)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..n as f64, 0.0..top)?;
    let groups = chart.groups.clone();
    ctx.configure_mesh()
        .disable_x_mesh()
        // Ticks every half group: group names at the centres, nothing at
        // the boundaries between groups.
        .x_labels(2 * n + 1)
        .x_label_formatter(&|x| {
            if (x.fract() - 0.5).abs() < 0.01 {
                groups.get(x.floor() as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| format!("{y:.decimals$}"))
        .y_desc(chart.y_label.as_str())
        .label_style(("sans-serif", 14))
        .draw()?;

    let k = chart.series.len() as f64;
    let width = 0.8 / k;
    for (si, series) in chart.series.iter().enumerate() {
        let color = series.color;
        let mut bars = Vec::new();
        let mut whiskers = Vec::new();
        for (g, value) in series.values.iter().enumerate() {
            let Some(v) = value else { continue };
            let x0 = g as f64 + 0.1 + si as f64 * width;
            let x1 = x0 + width * 0.9;
            bars.push(Rectangle::new([(x0, 0.0), (x1, v.median)], color.filled()));
            let mid = (x0 + x1) / 2.0;
            if v.max > v.min {
                whiskers.push(PathElement::new(vec![(mid, v.min), (mid, v.max)], BLACK));
                let cap = width * 0.25;
                whiskers.push(PathElement::new(
                    vec![(mid - cap, v.max), (mid + cap, v.max)],
                    BLACK,
                ));
                whiskers.push(PathElement::new(
                    vec![(mid - cap, v.min), (mid + cap, v.min)],
                    BLACK,
                ));
            }
        }
        ctx.draw_series(bars)?;
        ctx.draw_series(whiskers)?;
        let y = 24 + 24 * si as i32;
        legend_area.draw(&Rectangle::new([(8, y), (22, y + 14)], color.filled()))?;
        legend_area.draw(&Text::new(
            series.name.clone(),
            (30, y),
            ("sans-serif", 14).into_font(),
        ))?;
    }
    let note_y = 36 + 24 * chart.series.len() as i32;
    legend_area.draw(&Text::new(
        "bar: median; whisker: min-max",
        (8, note_y),
        ("sans-serif", 12).into_font().color(&BLACK.mix(0.6)),
    ))?;
    root.present()?;
    Ok(())
}
