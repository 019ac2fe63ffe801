//! A small x-y line chart as SVG, for the scale lab's curves (RSS per connection
//! against connections, achieved against target rate).
//!
//! Section 1's chart writer (`section1-pipelines/src/load/chart.rs`) draws a load
//! run's latency timeline and resource panels from its own report type; it does
//! not draw an arbitrary curve, and linking section 1 into the xtask would make
//! every `cargo xtask` command build section 1's dependencies. So this one draws
//! just a polyline with axes, and an optional dashed target line.

use std::fmt::Write;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 360.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 690.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 300.0;

/// What one chart shows.
pub struct Chart<'a> {
    /// The title above the plot.
    pub title: &'a str,
    /// The horizontal axis's label.
    pub x_label: &'a str,
    /// The vertical axis's label.
    pub y_label: &'a str,
    /// The points, in x order.
    pub points: &'a [[f64; 2]],
    /// A horizontal dashed line (a target), with its label.
    pub target: Option<(f64, &'a str)>,
}

/// The chart as an SVG document (axes start at zero).
pub fn svg(chart: &Chart<'_>) -> String {
    let x_max = nice_max(chart.points.iter().map(|p| p[0]).fold(0.0, f64::max));
    let y_data = chart.points.iter().map(|p| p[1]).fold(0.0, f64::max);
    let y_max = nice_max(y_data.max(chart.target.map_or(0.0, |t| t.0)));
    let x = |v: f64| LEFT + v / x_max * (RIGHT - LEFT);
    let y = |v: f64| BOTTOM - v / y_max * (BOTTOM - TOP);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#,
        WIDTH / 2.0,
        escape(chart.title)
    );
    for i in 0..=4 {
        let (xv, yv) = (x_max * i as f64 / 4.0, y_max * i as f64 / 4.0);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{RIGHT}" y2="{0:.1}" stroke="#ddd"/><text x="{1}" y="{2:.1}" text-anchor="end">{3}</text>"##,
            y(yv),
            LEFT - 6.0,
            y(yv) + 4.0,
            short(yv)
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            x(xv),
            BOTTOM + 18.0,
            short(xv)
        );
    }
    let _ = writeln!(
        s,
        r#"<line x1="{LEFT}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}" stroke="black"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{BOTTOM}" stroke="black"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (LEFT + RIGHT) / 2.0,
        BOTTOM + 40.0,
        escape(chart.x_label)
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(18 {}) rotate(-90)" text-anchor="middle">{}</text>"#,
        (TOP + BOTTOM) / 2.0,
        escape(chart.y_label)
    );
    if let Some((value, label)) = chart.target {
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{RIGHT}" y2="{0:.1}" stroke="#d62728" stroke-dasharray="6 4"/><text x="{RIGHT}" y="{1:.1}" text-anchor="end" fill="#d62728">{2}</text>"##,
            y(value),
            y(value) - 5.0,
            escape(label)
        );
    }
    let points: Vec<String> = chart
        .points
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p[0]), y(p[1])))
        .collect();
    let _ = writeln!(
        s,
        r##"<polyline points="{}" fill="none" stroke="#1f77b4" stroke-width="2"/>"##,
        points.join(" ")
    );
    for p in chart.points {
        let _ = writeln!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#1f77b4"/>"##,
            x(p[0]),
            y(p[1])
        );
    }
    s.push_str("</svg>\n");
    s
}

/// A round axis maximum at or above `v` (1, 2 or 5 times a power of ten).
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|&m| m >= v)
        .unwrap_or(10.0 * power)
}

/// An axis label: 19000 -> "19k", 2500000 -> "2.5M".
fn short(v: f64) -> String {
    let (value, suffix) = if v >= 1e6 {
        (v / 1e6, "M")
    } else if v >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let text = format!("{value:.1}");
    format!("{}{suffix}", text.trim_end_matches(".0"))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_the_points_and_the_target() {
        let svg = svg(&Chart {
            title: "RSS <per> connection",
            x_label: "connections",
            y_label: "bytes",
            points: &[[1000.0, 9000.0], [19_000.0, 6000.0]],
            target: Some((6144.0, "target 6 KiB")),
        });
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("RSS &lt;per&gt; connection"));
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("stroke-dasharray"));
        assert!(svg.contains(">20k<"), "the x axis runs to a round 20k");
    }

    #[test]
    fn round_maxima_and_labels() {
        assert_eq!(nice_max(19_000.0), 20_000.0);
        assert_eq!(nice_max(6_144.0), 10_000.0);
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(short(2_500_000.0), "2.5M");
        assert_eq!(short(5_000.0), "5k");
        assert_eq!(short(0.5), "0.5");
    }
}
