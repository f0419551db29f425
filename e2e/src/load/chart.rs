//! Charts a person reads at a glance, as standalone SVG: the shape of a rush (answers per
//! second by outcome over time), its latency distribution, and grouped bars for the
//! benchmark's comparison. No plotting library: a few rectangles, lines and labels.

use std::fmt::Write;

use super::report::{RushReport, OUTCOME_CLASSES};

const WIDTH: f64 = 820.0;
const HEIGHT: f64 = 380.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 56.0;
const BOTTOM: f64 = 56.0;

/// Colours of the outcome classes, in [`OUTCOME_CLASSES`] order.
const CLASS_COLOURS: [&str; 4] = ["#2e7d32", "#f2a900", "#c62828", "#455a64"];
const CLASS_LABELS: [&str; 4] = ["201 reserved", "4xx refused", "5xx", "transport error"];

/// Grouped bars: one group per label, one bar per series in each group.
#[derive(Debug, Clone)]
pub struct Bars {
    pub title: String,
    pub unit: String,
    pub groups: Vec<String>,
    /// (name, colour, one value per group)
    pub series: Vec<(String, String, Vec<f64>)>,
}

/// Answers per second by outcome over the rush, stacked.
pub fn rush_chart(report: &RushReport, title: &str) -> String {
    let width = report.timeline_bucket_seconds;
    let rates: Vec<[f64; 4]> = report
        .timeline
        .iter()
        .map(|bucket| OUTCOME_CLASSES.map(|c| bucket.get(c).copied().unwrap_or(0) as f64 / width))
        .collect();
    let peak = rates
        .iter()
        .map(|r| r.iter().sum::<f64>())
        .fold(0.0, f64::max);
    let (top, step) = axis(peak);
    let duration = (rates.len() as f64 * width).max(width);

    let mut svg = open(title);
    y_axis(&mut svg, top, step, "answers per second");
    let plot_w = WIDTH - LEFT - RIGHT;
    let bar_w = plot_w / rates.len().max(1) as f64;
    for (i, rate) in rates.iter().enumerate() {
        let mut base = 0.0;
        for (class, value) in rate.iter().enumerate() {
            if *value > 0.0 {
                let y0 = y_of(base, top);
                let y1 = y_of(base + value, top);
                rect(
                    &mut svg,
                    LEFT + i as f64 * bar_w,
                    y1,
                    bar_w,
                    y0 - y1,
                    CLASS_COLOURS[class],
                );
            }
            base += value;
        }
    }
    let (_, x_step) = axis(duration);
    let mut t = 0.0;
    while t <= duration + 1e-9 {
        let x = LEFT + t / duration * plot_w;
        tick_label(&mut svg, x, &trim(t));
        t += x_step;
    }
    label(
        &mut svg,
        LEFT + plot_w / 2.0,
        HEIGHT - 12.0,
        "middle",
        "seconds since the first request",
    );

    let mut x = LEFT;
    for (class, name) in CLASS_LABELS.iter().enumerate() {
        let total: u64 = report
            .timeline
            .iter()
            .filter_map(|b| b.get(OUTCOME_CLASSES[class]))
            .sum();
        rect(&mut svg, x, 34.0, 12.0, 12.0, CLASS_COLOURS[class]);
        let text = format!("{name}: {total}");
        label(&mut svg, x + 16.0, 45.0, "start", &text);
        x += 28.0 + text.len() as f64 * 7.0;
    }
    close(svg)
}

/// How many answers took how long, in buckets from the report's histogram, with the
/// percentiles written above.
pub fn latency_chart(report: &RushReport, title: &str) -> String {
    let buckets = &report.latency_histogram;
    let peak = buckets.iter().map(|(_, n)| *n as f64).fold(0.0, f64::max);
    let (top, step) = axis(peak);

    let mut svg = open(title);
    y_axis(&mut svg, top, step, "answers");
    let plot_w = WIDTH - LEFT - RIGHT;
    let bar_w = plot_w / buckets.len().max(1) as f64;
    for (i, (upper, count)) in buckets.iter().enumerate() {
        let x = LEFT + i as f64 * bar_w;
        let y = y_of(*count as f64, top);
        rect(
            &mut svg,
            x + 2.0,
            y,
            bar_w - 4.0,
            y_of(0.0, top) - y,
            "#1565c0",
        );
        let name = match *upper {
            u if !u.is_finite() => "more".to_string(),
            u if u >= 1000.0 => format!("≤{} s", trim(u / 1000.0)),
            u => format!("≤{}", trim(u)),
        };
        tick_label(&mut svg, x + bar_w / 2.0, &name);
    }
    label(
        &mut svg,
        LEFT + plot_w / 2.0,
        HEIGHT - 12.0,
        "middle",
        "latency (ms)",
    );
    let l = &report.latency_ms;
    let text = format!(
        "p50 {:.1} ms · p95 {:.1} ms · p99 {:.1} ms · max {:.1} ms · {} answers",
        l.p50, l.p95, l.p99, l.max, report.requests
    );
    label(&mut svg, LEFT, 45.0, "start", &text);
    close(svg)
}

/// Grouped bars with their values written on top.
pub fn bar_chart(bars: &Bars) -> String {
    let peak = bars
        .series
        .iter()
        .flat_map(|(_, _, v)| v.iter().copied())
        .fold(0.0, f64::max);
    let (top, step) = axis(peak);

    let mut svg = open(&bars.title);
    y_axis(&mut svg, top, step, &bars.unit);
    let plot_w = WIDTH - LEFT - RIGHT;
    let group_w = plot_w / bars.groups.len().max(1) as f64;
    let bar_w = (group_w * 0.8) / bars.series.len().max(1) as f64;
    for (g, group) in bars.groups.iter().enumerate() {
        let gx = LEFT + g as f64 * group_w + group_w * 0.1;
        for (s, (_, colour, values)) in bars.series.iter().enumerate() {
            let value = values.get(g).copied().unwrap_or(0.0);
            let x = gx + s as f64 * bar_w;
            let y = y_of(value, top);
            rect(
                &mut svg,
                x + 2.0,
                y,
                bar_w - 4.0,
                y_of(0.0, top) - y,
                colour,
            );
            label(
                &mut svg,
                x + bar_w / 2.0,
                y - 4.0,
                "middle",
                &format!("{value:.0}"),
            );
        }
        tick_label(&mut svg, gx + group_w * 0.4, group);
    }
    let mut x = LEFT;
    for (name, colour, _) in &bars.series {
        rect(&mut svg, x, 34.0, 12.0, 12.0, colour);
        label(&mut svg, x + 16.0, 45.0, "start", name);
        x += 40.0 + name.len() as f64 * 7.0;
    }
    close(svg)
}

/// A round top for an axis holding `peak`, and a round step giving 4–10 ticks.
fn axis(peak: f64) -> (f64, f64) {
    if peak <= 0.0 {
        return (1.0, 0.25);
    }
    let magnitude = 10f64.powf(peak.log10().floor());
    let step = [0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|f| f * magnitude)
        .find(|s| peak / s <= 8.0)
        .unwrap_or(magnitude * 10.0);
    ((peak / step).ceil() * step, step)
}

fn y_of(value: f64, top: f64) -> f64 {
    HEIGHT - BOTTOM - value / top * (HEIGHT - TOP - BOTTOM)
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn open(title: &str) -> String {
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(
        svg,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    );
    let _ = write!(
        svg,
        r#"<text x="{LEFT}" y="22" font-size="15" font-weight="bold">{}</text>"#,
        escape(title)
    );
    svg
}

fn close(mut svg: String) -> String {
    svg.push_str("</svg>\n");
    svg
}

fn y_axis(svg: &mut String, top: f64, step: f64, unit: &str) {
    let mut v = 0.0;
    while v <= top + step / 2.0 {
        let y = y_of(v, top);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e0e0e0"/>"##,
            WIDTH - RIGHT
        );
        let _ = write!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            y + 4.0,
            trim(v)
        );
        v += step;
    }
    let mid = (TOP + HEIGHT - BOTTOM) / 2.0;
    let _ = write!(
        svg,
        r#"<text x="14" y="{mid:.1}" text-anchor="middle" transform="rotate(-90 14 {mid:.1})">{}</text>"#,
        escape(unit)
    );
}

fn tick_label(svg: &mut String, x: f64, text: &str) {
    label(svg, x, HEIGHT - BOTTOM + 16.0, "middle", text);
}

fn label(svg: &mut String, x: f64, y: f64, anchor: &str, text: &str) {
    let _ = write!(
        svg,
        r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}">{}</text>"#,
        escape(text)
    );
}

fn rect(svg: &mut String, x: f64, y: f64, w: f64, h: f64, fill: &str) {
    let _ = write!(
        svg,
        r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{fill}"/>"#,
        w.max(0.5),
        h.max(0.0)
    );
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn report() -> RushReport {
        let bucket = |created: u64, refused: u64| {
            BTreeMap::from([("created".into(), created), ("refused".into(), refused)])
        };
        RushReport {
            requests: 30,
            outcomes: BTreeMap::new(),
            reserved_reservations: 10,
            seats_reserved: 20,
            duration_seconds: 1.0,
            requests_per_second: 30.0,
            reservations_per_second: 10.0,
            last_reservation_seconds: Some(0.4),
            latency_ms: Default::default(),
            server_errors: 0,
            transport_errors: 0,
            timeline_bucket_seconds: 0.5,
            timeline: vec![bucket(10, 0), bucket(0, 20)],
            latency_histogram: vec![(1.0, 25), (f64::INFINITY, 5)],
            checkout: None,
            reserved: vec![],
        }
    }

    #[test]
    fn axis_rounds_up_to_a_readable_top() {
        assert_eq!(axis(3_053.0), (3_500.0, 500.0));
        assert_eq!(axis(0.9), (1.0, 0.2));
        assert_eq!(axis(0.0), (1.0, 0.25));
    }

    #[test]
    fn rush_chart_draws_rates_not_counts() {
        let svg = rush_chart(&report(), "a <rush>");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("a &lt;rush&gt;"));
        // 20 refusals in a 0.5 s bucket is 40 per second: the axis must reach it.
        assert!(svg.contains(">40<"), "{svg}");
        assert!(svg.contains("201 reserved: 10") && svg.contains("4xx refused: 20"));
    }

    #[test]
    fn latency_chart_names_buckets_and_percentiles() {
        let svg = latency_chart(&report(), "latency");
        assert!(svg.contains("≤1") && svg.contains("more") && svg.contains("p99"));
    }

    #[test]
    fn bar_chart_writes_each_value() {
        let bars = Bars {
            title: "throughput".into(),
            unit: "per second".into(),
            groups: vec!["16".into(), "64".into()],
            series: vec![
                ("ours".into(), "#2e7d32".into(), vec![2_899.0, 3_053.0]),
                ("theirs".into(), "#9e9e9e".into(), vec![381.0, 153.0]),
            ],
        };
        let svg = bar_chart(&bars);
        for v in ["2899", "3053", "381", "153"] {
            assert!(svg.contains(&format!(">{v}<")), "{v}");
        }
    }
}
