//! The results page's curves (RSS per connection against connections, achieved
//! against target rate, ...) as SVG, drawn by the course's one chart writer, the
//! `charts` crate (dependency-free, so linking it costs the xtask next to nothing).

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
    let mut panel = charts::Panel::linear(chart.y_label);
    panel.series.push(charts::Series::line(
        "",
        0,
        chart.points.iter().map(|p| (p[0], p[1])).collect(),
    ));
    if let Some((value, label)) = chart.target {
        panel = panel.with_target(value, label);
    }
    charts::Chart::new(chart.title, chart.x_label)
        .with_panel(panel)
        .svg()
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
        assert!(svg.contains(">connections<") && svg.contains(">bytes<"));
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("stroke-dasharray"));
        assert!(svg.contains(">target 6 KiB<"));
        assert!(svg.contains(">20k<"), "the x axis runs to a round 20k");
    }
}
