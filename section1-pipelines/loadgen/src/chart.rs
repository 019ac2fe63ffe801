//! A load run as a chart: latency and resource use over time, drawn by `charts`.
//!
//! Top: latency over time (per-100 ms median as a solid line, maximum dashed), on a
//! log scale so a 500 ms endpoint and a 1 ms endpoint fit on one chart. Below:
//! resource users over time, from the `/stats` samples, and, when a server reports
//! a part 2 pipeline with anything queued, its queue depth in a third panel.

use charts::{Chart, LegendEntry, Note, Panel, Series as Line};

use crate::report::Timeline;

/// One run on the chart.
pub struct Series<'a> {
    /// The legend label (usually the URL's path).
    pub name: &'a str,
    /// The run's per-100 ms figures.
    pub timeline: &'a Timeline,
}

/// The chart as an SVG document.
pub fn svg(title: &str, series: &[Series<'_>]) -> String {
    chart(title, series).svg()
}

/// The chart, before it is written: one colour per run, three lines per run.
pub fn chart(title: &str, series: &[Series<'_>]) -> Chart {
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
    let seconds = |ms: u64| ms as f64 / 1000.0;
    // A bucket's figures are drawn at its middle; zero would not fit a log scale.
    let ms = |us: u64| us.max(1) as f64 / 1000.0;

    let mut latency = Panel::log("latency (ms, log scale): median solid, max dashed")
        .with_height(260.0)
        .with_tick_label(ms_label);
    let mut users = Panel::linear("resource users (from /stats)").with_height(190.0);
    let mut queue = Panel::linear("pipeline queue depth (from /stats)").with_height(150.0);
    let mut legend = Vec::new();
    for (colour, s) in series.iter().enumerate() {
        let buckets = &s.timeline.latency;
        let samples = &s.timeline.server;
        latency.series.push(Line::line(
            format!("{} latency p50", s.name),
            colour,
            buckets
                .iter()
                .map(|b| (seconds(b.at_ms + 50), ms(b.p50_us)))
                .collect(),
        ));
        latency.series.push(Line::dashed(
            format!("{} latency max", s.name),
            colour,
            buckets
                .iter()
                .map(|b| (seconds(b.at_ms + 50), ms(b.max_us)))
                .collect(),
        ));
        users.series.push(Line::line(
            format!("{} resource users", s.name),
            colour,
            samples
                .iter()
                .map(|p| (seconds(p.at_ms), p.current as f64))
                .collect(),
        ));
        queue.series.push(Line::line(
            format!("{} queue depth", s.name),
            colour,
            samples
                .iter()
                .filter_map(|p| Some((seconds(p.at_ms), p.queue_depth? as f64)))
                .collect(),
        ));
        if samples.is_empty() {
            users.notes.push(Note {
                colour,
                text: format!("{}: no /stats", s.name),
            });
        }
        // The peak goes in the legend: a run of 50 users next to one of 3000 is a
        // flat line on the shared scale, and the number says what the line cannot.
        legend.push(LegendEntry {
            colour,
            label: s.name.to_string(),
            note: samples
                .iter()
                .map(|p| p.current)
                .max()
                .map(|peak| format!("peak {peak} users")),
        });
    }
    let mut chart = Chart::new(title, "time since start (s)")
        .with_panel(latency)
        .with_panel(users);
    // Only a server with a pipeline that queued something gets the third panel.
    let queued = queue
        .series
        .iter()
        .flat_map(|s| &s.points)
        .any(|p| p.1 > 0.0);
    if queued {
        chart = chart.with_panel(queue);
    }
    chart.x_max = Some(seconds(end_ms));
    chart.legend = legend;
    chart
}

/// A latency tick: `10 ms`, `1 s`.
fn ms_label(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{} s", ms / 1000.0)
    } else {
        format!("{ms} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::LatencyBucket;
    use crate::stats_sampler::StatsSample;

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

    #[test]
    fn draws_every_series() {
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
        for id in [
            "/part1/serial latency p50",
            "/part1/serial latency max",
            "/part1/serial resource users",
            "/part1/serial queue depth",
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
        assert!(
            svg.contains(">1 ms<") && svg.contains(">1 s<"),
            "decade labels"
        );
    }

    #[test]
    fn an_empty_run_still_makes_a_chart() {
        let empty = Timeline::default();
        let chart = chart(
            "nothing",
            &[Series {
                name: "x",
                timeline: &empty,
            }],
        );
        assert_eq!(chart.panels.len(), 2, "no queue panel without a queue");
        assert!(chart.svg().contains("x: no /stats"));
    }
}
