//! The release page's per-minute pictures of one function, from CloudWatch's record
//! ([`crate::engine::timeline`]): each version's invocations and p99 duration minute by
//! minute, its errors marked, and its alarms' state changes as lines across both
//! charts and as a table. Inline SVG, no script.

use std::fmt::Write as _;

use super::html::{esc, ms, num};
use crate::cloud::SeriesPoint;
use crate::engine::timeline::FunctionTimeline;
use crate::ledger::rfc3339;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 110.0;
const OLD: &str = "#8c959f";
const NEW: &str = "#1f6feb";

/// Maps the release's window onto the chart's width.
struct Scale {
    from: f64,
    span: f64,
}

impl Scale {
    fn x(&self, at_ms: u64) -> f64 {
        ((at_ms as f64 - self.from) / self.span * WIDTH).clamp(0.0, WIDTH)
    }
}

/// Both charts and the alarm table of one function.
pub fn render(line: &FunctionTimeline, from_ms: u64, to_ms: u64) -> String {
    let scale = Scale { from: from_ms as f64, span: (to_ms.saturating_sub(from_ms)).max(1) as f64 };
    let mut h = String::new();
    let invocations = |p: &SeriesPoint| Some(p.invocations);
    let p99 = |p: &SeriesPoint| p.p99_ms;
    let _ = write!(
        h,
        "{}{}",
        chart(line, &scale, "invocations", "Invocations per minute", invocations, true),
        chart(line, &scale, "p99", "p99 duration per minute (ms)", p99, false)
    );
    if line.alarms.is_empty() {
        h.push_str("<p class=\"alarms none\">No alarm changed state during the release.</p>");
    } else {
        h.push_str("<table class=\"alarms\"><tr><th>When</th><th>Alarm</th><th>Change</th></tr>");
        for c in &line.alarms {
            let when = rfc3339(c.at_ms);
            let _ = write!(
                h,
                "<tr class=\"{}\"><td><time datetime=\"{when}\">{when}</time></td><td>{}</td><td>{} &rarr; {}</td></tr>",
                esc(&c.to.to_lowercase()),
                esc(&c.alarm),
                esc(&c.from),
                esc(&c.to)
            );
        }
        h.push_str("</table>");
    }
    h
}

/// One measure of both versions as lines over the window; `errors` marks the minutes
/// with errors on the line.
fn chart(
    line: &FunctionTimeline,
    scale: &Scale,
    class: &str,
    caption: &str,
    value: impl Fn(&SeriesPoint) -> Option<f64>,
    errors: bool,
) -> String {
    let top = line.new.iter().chain(&line.old).filter_map(&value).fold(0.0, f64::max);
    let y = |v: f64| if top > 0.0 { HEIGHT - v / top * (HEIGHT - 12.0) } else { HEIGHT };
    let mut svg = String::new();
    for (points, colour, version) in [(&line.old, OLD, &line.old_version), (&line.new, NEW, &line.new_version)] {
        let xy: Vec<String> =
            points.iter().filter_map(|p| Some(format!("{:.1},{:.1}", scale.x(p.at_ms), y(value(p)?)))).collect();
        if !xy.is_empty() {
            let _ = write!(
                svg,
                "<polyline class=\"series\" data-version=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>",
                esc(version),
                xy.join(" ")
            );
        }
        for p in points {
            let Some(v) = value(p) else { continue };
            let title = format!(
                "v{version} {}: {} invocations, {} errors, p99 {}",
                rfc3339(p.at_ms),
                num(p.invocations),
                num(p.errors),
                ms(p.p99_ms)
            );
            let (fill, r) = if errors && p.errors > 0.0 { ("#cf222e", 4.0) } else { (colour, 2.0) };
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{r}\" fill=\"{fill}\"><title>{}</title></circle>",
                scale.x(p.at_ms),
                y(v),
                esc(&title)
            );
        }
    }
    for c in &line.alarms {
        let colour = if c.to == "ALARM" { "#cf222e" } else { "#1a7f37" };
        let x = scale.x(c.at_ms);
        let _ = write!(
            svg,
            "<line class=\"alarm-change\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"0\" y2=\"{HEIGHT}\" stroke=\"{colour}\" stroke-dasharray=\"4 3\"><title>{}: {} &rarr; {}</title></line>",
            esc(&c.alarm),
            esc(&c.from),
            esc(&c.to)
        );
    }
    format!(
        "<figure><svg class=\"{class}\" viewBox=\"0 0 {WIDTH} {}\" role=\"img\" aria-label=\"{}\">{svg}\
         <text x=\"2\" y=\"10\">{}</text></svg><figcaption>{}: v{} (grey), v{} (blue){}; alarm changes dashed</figcaption></figure>",
        HEIGHT + 2.0,
        esc(caption),
        num(top),
        esc(caption),
        esc(&line.old_version),
        esc(&line.new_version),
        if errors { ", minutes with errors in red" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::AlarmChange;

    fn point(at_ms: u64, invocations: f64, errors: f64) -> SeriesPoint {
        SeriesPoint { at_ms, invocations, errors, p99_ms: Some(40.0 + invocations) }
    }

    #[test]
    fn each_version_is_a_line_its_errors_are_marked_and_alarm_changes_are_listed() {
        let line = FunctionTimeline {
            new_version: "7".into(),
            old_version: "6".into(),
            new: vec![point(60_000, 2.0, 0.0), point(120_000, 5.0, 3.0)],
            old: vec![point(60_000, 20.0, 0.0), point(120_000, 18.0, 0.0)],
            alarms: vec![AlarmChange {
                alarm: "etl-test-load-errors".into(),
                at_ms: 130_000,
                from: "OK".into(),
                to: "ALARM".into(),
            }],
        };
        let page = render(&line, 0, 180_000);
        assert_eq!(page.matches("<polyline class=\"series\"").count(), 4, "two versions, two charts");
        assert!(page.contains("data-version=\"7\"") && page.contains("data-version=\"6\""));
        assert!(page.contains("v7 1970-01-01T00:02:00.000Z: 5 invocations, 3 errors, p99 45 ms"), "{page}");
        assert_eq!(page.matches("fill=\"#cf222e\"").count(), 1, "one minute with errors: {page}");
        assert!(page.contains("<td>etl-test-load-errors</td><td>OK &rarr; ALARM</td>"), "{page}");
        assert_eq!(page.matches("class=\"alarm-change\"").count(), 2, "across both charts");
        let quiet = render(&FunctionTimeline::default(), 0, 1);
        assert!(quiet.contains("No alarm changed state") && !quiet.contains("<polyline"), "{quiet}");
    }
}
