//! # `charts`: line charts as SVG, written by hand
//!
//! The one chart writer of the course: the load generator's latency timelines, the
//! scale lab's curves and the results page of `cargo xtask bench` all go through
//! [`Chart::svg`]. No plotting crate and no dependencies: the format is text, the
//! charts are small, and the output is diffable and reviewable in a pull request.
//!
//! A chart is one or more [`Panel`]s stacked top to bottom that share the x axis
//! (time, connections, ...). Each panel has its own y axis, linear from zero or
//! logarithmic over whole decades ([`Scale`]), its [`Series`], and optionally a
//! dashed [`Target`] line. A legend to the right names what the colours mean.
//!
//! ```
//! use charts::{Chart, Panel, Series};
//!
//! let mut panel = Panel::linear("server RSS per connection (bytes)");
//! panel.series.push(Series::line("rss", 0, vec![(1000.0, 6400.0), (5000.0, 6100.0)]));
//! panel = panel.with_target(6144.0, "target 6 KiB");
//! let svg = Chart::new("Idle connections", "connections").with_panel(panel).svg();
//! assert!(svg.starts_with("<svg"));
//! ```

use std::fmt::Write;

/// Colours of the series, by index (taken modulo the length): distinct enough on a
/// projector and for the common kinds of colour blindness.
pub const COLOURS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];
/// The target line's colour.
const TARGET_COLOUR: &str = "#d62728";

/// Left margin: room for the y axis's tick labels.
const LEFT: f64 = 80.0;
/// Where the first panel starts, below the title.
const FIRST_TOP: f64 = 60.0;
/// Between two panels: the upper one's x tick labels and the lower one's name.
const PANEL_GAP: f64 = 70.0;
/// A series with fewer points than this also gets a dot per point: one or two
/// points would not show as a line.
const MARK_BELOW: usize = 20;

/// A whole chart: a title, panels sharing one x axis, and a legend.
#[derive(Clone, Debug)]
pub struct Chart {
    /// The title above the plot.
    pub title: String,
    /// What the shared x axis measures, written below the last panel.
    pub x_label: String,
    /// The right end of the x axis (it starts at zero). `None`: the largest x of any
    /// series, rounded up to 1, 2 or 5 times a power of ten.
    pub x_max: Option<f64>,
    /// The panels, top to bottom.
    pub panels: Vec<Panel>,
    /// What each colour means, drawn to the right of the plot. A chart without a
    /// legend (and without notes) is narrower.
    pub legend: Vec<LegendEntry>,
}

/// One plot area with its own y axis.
#[derive(Clone, Debug)]
pub struct Panel {
    /// What the y axis measures, written above the panel.
    pub y_label: String,
    /// How values map onto the panel's height.
    pub scale: Scale,
    /// How a y tick's value is written ([`short`] unless changed).
    pub tick_label: fn(f64) -> String,
    /// The panel's height in pixels.
    pub height: f64,
    /// The lines drawn in this panel.
    pub series: Vec<Series>,
    /// A horizontal dashed line: the figure to reach (or stay under).
    pub target: Option<Target>,
    /// Short lines of text beside the panel, say why a run has no line here.
    pub notes: Vec<Note>,
}

/// How a panel's y values map onto its height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// From zero to a round maximum (1, 2 or 5 times a power of ten).
    Linear,
    /// Logarithmic over whole decades: a 1 ms and a 500 ms series fit on one panel.
    /// Values at or below zero sit on the bottom edge.
    Log,
}

/// One line: points in x order, in data units.
#[derive(Clone, Debug)]
pub struct Series {
    /// Written as the polyline's `data-series` attribute (so tests and readers can
    /// find it); empty for none.
    pub name: String,
    /// Index into [`COLOURS`].
    pub colour: usize,
    /// Dashed and a little transparent: a secondary line (say, the maximum beside
    /// the median).
    pub dashed: bool,
    /// `(x, y)` pairs.
    pub points: Vec<(f64, f64)>,
}

/// A horizontal dashed line at `value`, labelled.
#[derive(Clone, Debug)]
pub struct Target {
    /// Where the line is, in the panel's y units.
    pub value: f64,
    /// Written at the line's right end.
    pub label: String,
}

/// One entry of the legend: a coloured line and a label, and an optional second line.
#[derive(Clone, Debug)]
pub struct LegendEntry {
    /// Index into [`COLOURS`].
    pub colour: usize,
    /// What the colour stands for (usually a run's name).
    pub label: String,
    /// A figure the lines cannot show, written under the label.
    pub note: Option<String>,
}

/// A line of text beside a panel, in a series' colour.
#[derive(Clone, Debug)]
pub struct Note {
    /// Index into [`COLOURS`].
    pub colour: usize,
    /// The text.
    pub text: String,
}

impl Chart {
    /// A chart with a title and an x axis label, no panels yet, the x axis rounded.
    pub fn new(title: impl Into<String>, x_label: impl Into<String>) -> Chart {
        Chart {
            title: title.into(),
            x_label: x_label.into(),
            x_max: None,
            panels: Vec::new(),
            legend: Vec::new(),
        }
    }

    /// Adds a panel below the others.
    pub fn with_panel(mut self, panel: Panel) -> Chart {
        self.panels.push(panel);
        self
    }

    /// The chart as an SVG document.
    pub fn svg(&self) -> String {
        let with_legend =
            !self.legend.is_empty() || self.panels.iter().any(|p| !p.notes.is_empty());
        // The legend gets a column of its own, so it never covers a line.
        let (width, right) = if with_legend {
            (960.0, 750.0)
        } else {
            (720.0, 690.0)
        };
        let x_data = self
            .panels
            .iter()
            .flat_map(|p| &p.series)
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .fold(0.0, f64::max);
        let x = Axis::linear(self.x_max.unwrap_or_else(|| nice_max(x_data)), LEFT, right);

        // Panels are laid out first, so the document's height is known up front.
        let mut layout = Vec::with_capacity(self.panels.len());
        let mut top = FIRST_TOP;
        for panel in &self.panels {
            let bottom = top + panel.height;
            layout.push((panel, top, bottom, panel.axis(bottom, top)));
            top = bottom + PANEL_GAP;
        }
        let bottom = layout.last().map_or(FIRST_TOP, |l| l.2);
        let height = bottom + 60.0;

        let mut out = String::new();
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            out,
            r#"<text x="{}" y="28" font-size="16" text-anchor="middle">{}</text>"#,
            (LEFT + right) / 2.0,
            escape(&self.title)
        );
        for (panel, top, bottom, y) in &layout {
            panel.draw(&mut out, *top, *bottom, right, &x, y);
        }
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            (LEFT + right) / 2.0,
            bottom + 40.0,
            escape(&self.x_label)
        );
        for (i, entry) in self.legend.iter().enumerate() {
            let colour = colour(entry.colour);
            let y = FIRST_TOP + 10.0 + 36.0 * i as f64;
            let _ = writeln!(
                out,
                r#"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
                right + 20.0,
                right + 45.0,
                right + 52.0,
                y + 4.0,
                escape(&entry.label)
            );
            if let Some(note) = &entry.note {
                let _ = writeln!(
                    out,
                    r##"<text x="{}" y="{}" fill="#555">{}</text>"##,
                    right + 52.0,
                    y + 18.0,
                    escape(note)
                );
            }
        }
        out.push_str("</svg>\n");
        out
    }
}

impl Panel {
    /// An empty panel with a linear y axis from zero.
    pub fn linear(y_label: impl Into<String>) -> Panel {
        Panel {
            y_label: y_label.into(),
            scale: Scale::Linear,
            tick_label: short,
            height: 240.0,
            series: Vec::new(),
            target: None,
            notes: Vec::new(),
        }
    }

    /// An empty panel with a logarithmic y axis.
    pub fn log(y_label: impl Into<String>) -> Panel {
        Panel {
            scale: Scale::Log,
            ..Panel::linear(y_label)
        }
    }

    /// The same panel, `height` pixels high.
    pub fn with_height(mut self, height: f64) -> Panel {
        self.height = height;
        self
    }

    /// The same panel with its y ticks written by `label`.
    pub fn with_tick_label(mut self, label: fn(f64) -> String) -> Panel {
        self.tick_label = label;
        self
    }

    /// The same panel with a dashed target line at `value`.
    pub fn with_target(mut self, value: f64, label: impl Into<String>) -> Panel {
        self.target = Some(Target {
            value,
            label: label.into(),
        });
        self
    }

    /// The y axis, from pixel `bottom` (low values) to pixel `top`.
    fn axis(&self, bottom: f64, top: f64) -> Axis {
        let values = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1));
        match self.scale {
            Scale::Linear => {
                // The target counts: a line far above the data must still be on the chart.
                let max = values
                    .chain(self.target.as_ref().map(|t| t.value))
                    .fold(0.0, f64::max);
                Axis::linear(nice_max(max), bottom, top)
            }
            Scale::Log => {
                let (lo, hi) = values
                    .chain(self.target.as_ref().map(|t| t.value))
                    .filter(|v| *v > 0.0 && v.is_finite())
                    .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
                let (lo, hi) = if lo > hi { (1.0, 1000.0) } else { (lo, hi) };
                // A little headroom below, so the lowest line never sits on the axis.
                let lo = (lo * 0.8).log10().floor();
                let hi = hi.log10().ceil().max(lo + 1.0);
                Axis {
                    kind: Scale::Log,
                    lo,
                    hi,
                    from: bottom,
                    to: top,
                }
            }
        }
    }

    fn draw(&self, out: &mut String, top: f64, bottom: f64, right: f64, x: &Axis, y: &Axis) {
        let _ = writeln!(
            out,
            r##"<rect x="{LEFT}" y="{top}" width="{}" height="{}" fill="none" stroke="#444"/>"##,
            right - LEFT,
            bottom - top
        );
        let _ = writeln!(
            out,
            r#"<text x="{LEFT}" y="{}" font-weight="bold">{}</text>"#,
            top - 8.0,
            escape(&self.y_label)
        );
        for value in x.ticks() {
            let px = x.at(value);
            let _ = writeln!(
                out,
                r##"<line x1="{px:.1}" y1="{bottom}" x2="{px:.1}" y2="{}" stroke="#444"/><text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"##,
                bottom + 5.0,
                bottom + 18.0,
                short(value)
            );
        }
        for value in y.ticks() {
            let py = y.at(value);
            let _ = writeln!(
                out,
                r##"<line x1="{LEFT}" y1="{py:.1}" x2="{right}" y2="{py:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                LEFT - 6.0,
                py + 4.0,
                escape(&(self.tick_label)(value))
            );
        }
        if let Some(target) = &self.target {
            let py = y.at(target.value);
            let _ = writeln!(
                out,
                r#"<line x1="{LEFT}" y1="{py:.1}" x2="{right}" y2="{py:.1}" stroke="{TARGET_COLOUR}" stroke-dasharray="6 4"/><text x="{right}" y="{:.1}" text-anchor="end" fill="{TARGET_COLOUR}">{}</text>"#,
                py - 5.0,
                escape(&target.label)
            );
        }
        for series in &self.series {
            series.draw(out, x, y);
        }
        for (i, note) in self.notes.iter().enumerate() {
            let _ = writeln!(
                out,
                r#"<text x="{}" y="{}" fill="{}">{}</text>"#,
                right + 20.0,
                top + 10.0 + 16.0 * i as f64,
                colour(note.colour),
                escape(&note.text)
            );
        }
    }
}

impl Series {
    /// A solid line.
    pub fn line(name: impl Into<String>, colour: usize, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            colour,
            dashed: false,
            points,
        }
    }

    /// A dashed, slightly transparent line.
    pub fn dashed(name: impl Into<String>, colour: usize, points: Vec<(f64, f64)>) -> Series {
        Series {
            dashed: true,
            ..Series::line(name, colour, points)
        }
    }

    fn draw(&self, out: &mut String, x: &Axis, y: &Axis) {
        if self.points.is_empty() {
            return;
        }
        let colour = colour(self.colour);
        let mut coords = String::new();
        for &(px, py) in &self.points {
            let _ = write!(coords, "{:.1},{:.1} ", x.at(px), y.at(py));
        }
        let id = if self.name.is_empty() {
            String::new()
        } else {
            format!(r#"data-series="{}" "#, escape(&self.name))
        };
        let dash = if self.dashed {
            r#" stroke-dasharray="5 4" opacity="0.7""#
        } else {
            ""
        };
        let _ = writeln!(
            out,
            r#"<polyline {id}points="{}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>"#,
            coords.trim_end()
        );
        if self.points.len() < MARK_BELOW {
            for &(px, py) in &self.points {
                let _ = writeln!(
                    out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"/>"#,
                    x.at(px),
                    y.at(py)
                );
            }
        }
    }
}

/// A mapping from data values to pixels, linear from zero or over log10 decades.
struct Axis {
    kind: Scale,
    /// The low end: a value (linear) or a decade exponent (log).
    lo: f64,
    /// The high end, likewise.
    hi: f64,
    from: f64,
    to: f64,
}

impl Axis {
    fn linear(hi: f64, from: f64, to: f64) -> Axis {
        let hi = if hi > 0.0 && hi.is_finite() { hi } else { 1.0 };
        Axis {
            kind: Scale::Linear,
            lo: 0.0,
            hi,
            from,
            to,
        }
    }

    fn at(&self, v: f64) -> f64 {
        let v = match self.kind {
            Scale::Linear => v,
            Scale::Log if v > 0.0 => v.log10(),
            Scale::Log => self.lo,
        };
        self.from + (v - self.lo) / (self.hi - self.lo) * (self.to - self.from)
    }

    /// Round values along the axis: about five steps of 1, 2 or 5 times a power of
    /// ten (linear), or every decade (log).
    fn ticks(&self) -> Vec<f64> {
        match self.kind {
            Scale::Linear => {
                let step = nice_max((self.hi - self.lo) / 5.0);
                (0..)
                    .map(|i| self.lo + step * i as f64)
                    .take_while(|v| *v <= self.hi + step * 1e-9)
                    .collect()
            }
            Scale::Log => (self.lo as i32..=self.hi as i32)
                .map(|e| 10f64.powi(e))
                .collect(),
        }
    }
}

fn colour(index: usize) -> &'static str {
    COLOURS[index % COLOURS.len()]
}

/// 1, 2 or 5 times a power of ten, at or above `value` (1 for nothing positive).
pub fn nice_max(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|&m| m >= value * (1.0 - 1e-12))
        .unwrap_or(10.0 * power)
}

/// A tick label: 19000 -> "19k", 2500000 -> "2.5M", 0.25 -> "0.25".
pub fn short(v: f64) -> String {
    let (value, suffix) = if v.abs() >= 1e6 {
        (v / 1e6, "M")
    } else if v.abs() >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{suffix}")
}

/// `text` safe inside an SVG element or attribute.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn two_panels() -> Chart {
        let mut latency = Panel::log("latency <ms>").with_height(260.0);
        latency
            .series
            .push(Series::line("a & b", 0, vec![(0.0, 1.0), (1.0, 500.0)]));
        latency
            .series
            .push(Series::dashed("max", 0, vec![(0.0, 2.0), (1.0, 900.0)]));
        let mut users = Panel::linear("users");
        users.notes.push(Note {
            colour: 1,
            text: "b: no data".into(),
        });
        let mut chart = Chart::new("one \"and\" two", "time (s)")
            .with_panel(latency)
            .with_panel(users);
        chart.x_max = Some(1.0);
        chart.legend.push(LegendEntry {
            colour: 0,
            label: "a".into(),
            note: Some("peak 3".into()),
        });
        chart
    }

    #[test]
    fn panels_series_and_legend_in_a_well_formed_document() {
        let svg = two_panels().svg();
        assert!(svg.starts_with("<svg"));
        assert_well_formed(&svg);
        assert!(svg.contains(r#"data-series="a &amp; b""#));
        assert!(
            svg.contains("stroke-dasharray=\"5 4\""),
            "the dashed series"
        );
        assert!(svg.contains("one &quot;and&quot; two"), "title escaped");
        assert!(svg.contains("latency &lt;ms&gt;"));
        assert!(svg.contains(">peak 3<") && svg.contains(">b: no data<"));
        assert!(svg.contains("width=\"960\""), "a legend gets its column");
        // Log decades from 0.1 (headroom under 1) to 1000.
        for tick in [">0.1<", ">1<", ">10<", ">100<", ">1k<"] {
            assert!(svg.contains(tick), "missing tick {tick}");
        }
    }

    #[test]
    fn a_target_is_drawn_and_counts_for_the_axis() {
        let mut panel = Panel::linear("bytes").with_target(6144.0, "target 6 KiB");
        panel.series.push(Series::line(
            "",
            0,
            vec![(1000.0, 900.0), (19_000.0, 600.0)],
        ));
        let svg = Chart::new("RSS <per> connection", "connections")
            .with_panel(panel)
            .svg();
        assert_well_formed(&svg);
        assert!(svg.contains("RSS &lt;per&gt; connection"));
        assert!(svg.contains("stroke-dasharray=\"6 4\""));
        assert!(svg.contains(">target 6 KiB<"));
        assert!(svg.contains(">10k<"), "the y axis reaches over the target");
        assert!(svg.contains(">20k<"), "the x axis runs to a round 20k");
        assert_eq!(svg.matches("<circle").count(), 2, "short series are marked");
        assert!(!svg.contains("data-series"), "unnamed series carry no id");
        assert!(svg.contains("width=\"720\""), "no legend, no legend column");
    }

    #[test]
    fn an_empty_chart_is_still_a_chart() {
        let svg = Chart::new("nothing", "x")
            .with_panel(Panel::linear("y"))
            .with_panel(Panel::log("z"))
            .svg();
        assert_well_formed(&svg);
        assert!(!svg.contains("<polyline"));
    }

    #[test]
    fn long_series_are_not_marked() {
        let mut panel = Panel::linear("y");
        panel.series.push(Series::line(
            "many",
            2,
            (0..50).map(|i| (i as f64, i as f64)).collect(),
        ));
        let svg = Chart::new("t", "x").with_panel(panel).svg();
        assert!(!svg.contains("<circle"));
    }

    #[test]
    fn round_maxima_and_labels() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(3.0), 5.0);
        assert_eq!(nice_max(50.0), 50.0);
        assert_eq!(nice_max(2999.0), 5000.0);
        assert_eq!(nice_max(19_000.0), 20_000.0);
        assert_eq!(nice_max(6_144.0), 10_000.0);
        assert_eq!(nice_max(0.3), 0.5);
        assert_eq!(short(2_500_000.0), "2.5M");
        assert_eq!(short(5_000.0), "5k");
        assert_eq!(short(0.5), "0.5");
        assert_eq!(short(0.0), "0");
        assert_eq!(short(1250.0), "1.25k");
    }

    #[test]
    fn linear_ticks_are_round() {
        let axis = Axis::linear(20_000.0, 0.0, 100.0);
        assert_eq!(axis.ticks(), [0.0, 5000.0, 10_000.0, 15_000.0, 20_000.0]);
        let axis = Axis::linear(3.4, 0.0, 100.0);
        assert_eq!(axis.ticks(), [0.0, 1.0, 2.0, 3.0]);
    }
}
