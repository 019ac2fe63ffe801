//! A two-panel SVG chart of one or more runs, written by hand.
//!
//! Top: latency over time (per-100 ms median as a solid line, maximum dashed), on a
//! log scale so a 500 ms endpoint and a 1 ms endpoint fit on one chart. Below:
//! resource users over time, from the `/stats` samples, and, when a server reports
//! a part 2 pipeline with anything queued, its queue depth in a third panel. No plotting crate: the
//! format is text, the chart is small, and the output is diffable.

use std::fmt::Write;

use super::report::Timeline;

/// One run on the chart.
pub struct Series<'a> {
    /// The legend label (usually the URL's path).
    pub name: &'a str,
    /// The run's per-100 ms figures.
    pub timeline: &'a Timeline,
}

const WIDTH: f64 = 960.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 750.0;
const LATENCY_TOP: f64 = 60.0;
const LATENCY_BOTTOM: f64 = 320.0;
const RESOURCE_TOP: f64 = 390.0;
const RESOURCE_BOTTOM: f64 = 580.0;
const QUEUE_TOP: f64 = 640.0;
const QUEUE_BOTTOM: f64 = 790.0;
const COLOURS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];

/// The chart as an SVG document.
pub fn svg(title: &str, series: &[Series<'_>]) -> String {
    let end_ms = series
        .iter()
        .flat_map(|s| {
            let lat = s.timeline.latency.iter().map(|b| b.at_ms + 100);
            let srv = s.timeline.server.iter().map(|p| p.at_ms);
            lat.chain(srv)
        })
        .max()
        .unwrap_or(0)
        .max(1000);
    let x = Linear::new(0.0, end_ms as f64 / 1000.0, LEFT, RIGHT);
    let latencies_ms = series
        .iter()
        .flat_map(|s| s.timeline.latency.iter())
        .flat_map(|b| [b.p50_us, b.max_us])
        .map(|us| us.max(1) as f64 / 1000.0);
    let (lo, hi) = latencies_ms.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo > hi { (1.0, 1000.0) } else { (lo, hi) };
    let y_latency = Log::new(lo, hi, LATENCY_BOTTOM, LATENCY_TOP);
    let users_max = series
        .iter()
        .flat_map(|s| s.timeline.server.iter().map(|p| p.current))
        .max()
        .unwrap_or(0);
    let y_users = Linear::new(
        0.0,
        nice_ceiling(users_max as f64),
        RESOURCE_BOTTOM,
        RESOURCE_TOP,
    );

    let queue_max = series
        .iter()
        .flat_map(|s| s.timeline.server.iter().filter_map(|p| p.queue_depth))
        .max()
        .unwrap_or(0);
    let with_queue = queue_max > 0;
    let y_queue = Linear::new(0.0, nice_ceiling(queue_max as f64), QUEUE_BOTTOM, QUEUE_TOP);
    let (bottom, height) = if with_queue {
        (QUEUE_BOTTOM, 850.0)
    } else {
        (RESOURCE_BOTTOM, 640.0)
    };

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="28" font-size="16" text-anchor="middle">{}</text>"#,
        (LEFT + RIGHT) / 2.0,
        escape(title)
    );

    // Latency panel.
    axes(
        &mut out,
        LATENCY_TOP,
        LATENCY_BOTTOM,
        &x,
        "latency (ms, log scale): median solid, max dashed",
    );
    for (value, label) in y_latency.ticks() {
        let y = y_latency.at(value);
        grid_line(&mut out, y, &label);
    }
    // Resource panel.
    axes(
        &mut out,
        RESOURCE_TOP,
        RESOURCE_BOTTOM,
        &x,
        "resource users (from /stats)",
    );
    for value in y_users.ticks() {
        grid_line(&mut out, y_users.at(value), &format!("{value}"));
    }
    if with_queue {
        axes(
            &mut out,
            QUEUE_TOP,
            QUEUE_BOTTOM,
            &x,
            "pipeline queue depth (from /stats)",
        );
        for value in y_queue.ticks() {
            grid_line(&mut out, y_queue.at(value), &format!("{value}"));
        }
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">time since start (s)</text>"#,
        (LEFT + RIGHT) / 2.0,
        bottom + 40.0
    );

    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let name = escape(s.name);
        let t = |ms: u64| x.at(ms as f64 / 1000.0);
        let median = s.timeline.latency.iter().map(|b| {
            (
                t(b.at_ms + 50),
                y_latency.at(b.p50_us.max(1) as f64 / 1000.0),
            )
        });
        polyline(&mut out, &format!("{name} latency p50"), colour, "", median);
        let max = s.timeline.latency.iter().map(|b| {
            (
                t(b.at_ms + 50),
                y_latency.at(b.max_us.max(1) as f64 / 1000.0),
            )
        });
        polyline(
            &mut out,
            &format!("{name} latency max"),
            colour,
            r#" stroke-dasharray="5 4" opacity="0.7""#,
            max,
        );
        let users = s
            .timeline
            .server
            .iter()
            .map(|p| (t(p.at_ms), y_users.at(p.current as f64)));
        polyline(
            &mut out,
            &format!("{name} resource users"),
            colour,
            "",
            users,
        );

        if with_queue {
            let queue = s
                .timeline
                .server
                .iter()
                .filter_map(|p| p.queue_depth.map(|q| (t(p.at_ms), y_queue.at(q as f64))));
            polyline(&mut out, &format!("{name} queue depth"), colour, "", queue);
        }

        // Legend entry, with the peak: a run of 50 users next to one of 3000 is a flat
        // line on the shared scale, and the number says what the line cannot.
        let y = LATENCY_TOP + 10.0 + 36.0 * i as f64;
        let peak = s.timeline.server.iter().map(|p| p.current).max();
        if let Some(peak) = peak {
            let _ = writeln!(
                out,
                r##"<text x="{}" y="{}" fill="#555">peak {peak} users</text>"##,
                RIGHT + 52.0,
                y + 18.0
            );
        }
        let _ = writeln!(
            out,
            r#"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}" stroke-width="3"/><text x="{}" y="{}">{name}</text>"#,
            RIGHT + 20.0,
            RIGHT + 45.0,
            RIGHT + 52.0,
            y + 4.0
        );
        if s.timeline.server.is_empty() {
            let _ = writeln!(
                out,
                r#"<text x="{}" y="{}" fill="{colour}">{name}: no /stats</text>"#,
                RIGHT + 20.0,
                RESOURCE_TOP + 10.0 + 16.0 * i as f64
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

fn axes(out: &mut String, top: f64, bottom: f64, x: &Linear, label: &str) {
    let _ = writeln!(
        out,
        r##"<rect x="{LEFT}" y="{top}" width="{}" height="{}" fill="none" stroke="#444"/>"##,
        RIGHT - LEFT,
        bottom - top
    );
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="{}" font-weight="bold">{}</text>"#,
        top - 8.0,
        escape(label)
    );
    for value in x.ticks() {
        let px = x.at(value);
        let _ = writeln!(
            out,
            r##"<line x1="{px:.1}" y1="{bottom}" x2="{px:.1}" y2="{}" stroke="#444"/><text x="{px:.1}" y="{}" text-anchor="middle">{value}</text>"##,
            bottom + 5.0,
            bottom + 18.0
        );
    }
}

fn grid_line(out: &mut String, y: f64, label: &str) {
    let _ = writeln!(
        out,
        r##"<line x1="{LEFT}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
        LEFT - 6.0,
        y + 4.0,
        escape(label)
    );
}

fn polyline(
    out: &mut String,
    id: &str,
    colour: &str,
    extra: &str,
    points: impl Iterator<Item = (f64, f64)>,
) {
    let points: Vec<(f64, f64)> = points.collect();
    let mut coords = String::new();
    for (x, y) in &points {
        let _ = write!(coords, "{x:.1},{y:.1} ");
    }
    if coords.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        r#"<polyline data-series="{id}" points="{}" fill="none" stroke="{colour}" stroke-width="2"{extra}/>"#,
        coords.trim_end()
    );
    // A short run has one or two buckets, which a line alone would not show: mark them.
    if points.len() < 20 {
        for (x, y) in points {
            let _ = writeln!(
                out,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{colour}"/>"#
            );
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// 1, 2 or 5 times a power of ten, at or above `value` (at least 1).
fn nice_ceiling(value: f64) -> f64 {
    if value <= 1.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|v| *v >= value)
        .unwrap_or(10.0 * magnitude)
}

/// A linear mapping from data values to pixels.
struct Linear {
    lo: f64,
    hi: f64,
    from: f64,
    to: f64,
}

impl Linear {
    fn new(lo: f64, hi: f64, from: f64, to: f64) -> Self {
        Linear { lo, hi, from, to }
    }

    fn at(&self, v: f64) -> f64 {
        self.from + (v - self.lo) / (self.hi - self.lo) * (self.to - self.from)
    }

    /// About five round values across the range.
    fn ticks(&self) -> Vec<f64> {
        let step = nice_ceiling((self.hi - self.lo) / 5.0);
        (0..)
            .map(|i| self.lo + step * i as f64)
            .take_while(|v| *v <= self.hi + step * 1e-9)
            .collect()
    }
}

/// A log10 mapping, rounded out to whole decades.
struct Log {
    lo: f64,
    hi: f64,
    from: f64,
    to: f64,
}

impl Log {
    fn new(lo: f64, hi: f64, from: f64, to: f64) -> Self {
        // A little headroom below, so the fastest series never sits on the axis.
        let lo = (lo * 0.8).log10().floor();
        let hi = hi.log10().ceil().max(lo + 1.0);
        Log { lo, hi, from, to }
    }

    fn at(&self, v: f64) -> f64 {
        self.from + (v.log10() - self.lo) / (self.hi - self.lo) * (self.to - self.from)
    }

    fn ticks(&self) -> Vec<(f64, String)> {
        (self.lo as i32..=self.hi as i32)
            .map(|e| {
                let ms = 10f64.powi(e);
                let label = if ms >= 1000.0 {
                    format!("{} s", ms / 1000.0)
                } else {
                    format!("{ms} ms")
                };
                (ms, label)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::report::LatencyBucket;
    use crate::load::stats_sampler::StatsSample;

    fn timeline(latency_ms: u64, users: u64) -> Timeline {
        Timeline {
            latency: (0..10)
                .map(|i| LatencyBucket {
                    at_ms: i * 100,
                    p50_us: latency_ms * 1000,
                    max_us: latency_ms * 1200,
                })
                .collect(),
            server: (0..10)
                .map(|i| StatsSample {
                    at_ms: i * 100,
                    current: users * i,
                    peak: users * i,
                    rss_bytes: Some(1 << 20),
                    live_tasks: 3,
                    queue_depth: Some(i),
                })
                .collect(),
        }
    }

    /// Every element opened is closed, in order: a tiny well-formedness check.
    fn assert_well_formed(svg: &str) {
        let mut open: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').expect("every tag is closed") + start;
            let tag = &rest[start + 1..end];
            assert!(!tag.contains('<'), "stray < in {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(open.pop(), Some(name.trim()), "mismatched </{name}>");
            } else if !tag.ends_with('/') {
                open.push(tag.split_whitespace().next().unwrap());
            }
            rest = &rest[end + 1..];
        }
        assert!(open.is_empty(), "unclosed: {open:?}");
    }

    #[test]
    fn draws_every_series_in_a_well_formed_document() {
        let (serial, fire) = (timeline(500, 50), timeline(1, 300));
        let svg = svg(
            "serial & async <c=50>",
            &[
                Series {
                    name: "/part1/serial",
                    timeline: &serial,
                },
                Series {
                    name: "/part1/async",
                    timeline: &fire,
                },
            ],
        );
        assert!(svg.starts_with("<svg"));
        assert_well_formed(&svg);
        for id in [
            "/part1/serial latency p50",
            "/part1/serial latency max",
            "/part1/serial resource users",
            "/part1/async latency p50",
            "/part1/async resource users",
        ] {
            assert!(
                svg.contains(&format!(r#"data-series="{id}""#)),
                "missing {id}"
            );
        }
        assert!(
            svg.contains("serial &amp; async &lt;c=50&gt;"),
            "title escaped"
        );
        assert!(svg.contains("time since start (s)"));
        assert!(svg.contains("peak 2700 users"), "legend names the peak");
        assert!(svg.contains("1 ms") && svg.contains("1 s"), "decade labels");
    }

    #[test]
    fn an_empty_run_still_makes_a_chart() {
        let empty = Timeline::default();
        let svg = svg(
            "nothing",
            &[Series {
                name: "x",
                timeline: &empty,
            }],
        );
        assert_well_formed(&svg);
        assert!(svg.contains("x: no /stats"));
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(50.0), 50.0);
        assert_eq!(nice_ceiling(2999.0), 5000.0);
    }
}
