//! `deployer report RELEASE --env ENV`: one release as one self-contained HTML page
//! (inline CSS and SVG, no fetches), from its ledger record: per function the weight
//! on the new version step by step, each version's invocations, errors and p99 in each
//! step, the judge's verdicts, what stopped the release, and the shadow run's diff;
//! and from CloudWatch's record of the release's window ([`Timeline`]), each version's
//! figures minute by minute and the alarms' state changes.
//! A few lines of script only format the times in the reader's zone; the page reads
//! the same without them.

use std::fmt::Write as _;

use super::timeline_chart;
use crate::engine::timeline::Timeline;
use crate::ledger::{ReleaseRecord, StepEvidence, StopCause};
use crate::settings::Settings;

/// HTML-escapes text.
pub(crate) fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A figure as the page shows it: whole numbers without decimals, never "-0".
pub fn num(v: f64) -> String {
    let v = v + 0.0;
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

pub(crate) fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.0} ms"))
}

/// The page.
pub fn render(settings: &Settings, r: &ReleaseRecord, timeline: &Timeline) -> String {
    let mut h = String::new();
    let title = format!("Release {} in {}", r.release_id, r.environment);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(&title)
    );
    let _ = write!(h, "<h1>{}</h1>", esc(&title));
    let _ = write!(
        h,
        "<table class=\"facts\"><tr><th>Kind</th><td>{:?}{}</td></tr><tr><th>Status</th><td id=\"status\" class=\"{}\">{}</td></tr>\
         <tr><th>Started</th><td><time datetime=\"{}\">{}</time></td></tr><tr><th>Duration</th><td>{}</td></tr>\
         <tr><th>Deployment config</th><td>{}</td></tr><tr><th>Commit</th><td>{}</td></tr><tr><th>Account</th><td>{}</td></tr></table>",
        r.kind,
        r.source_environment.as_deref().map(|s| format!(" from {}", esc(s))).unwrap_or_default(),
        status_class(r),
        esc(&format!("{:?}", r.status)),
        esc(&r.started_at),
        esc(&r.started_at),
        r.duration_ms.map_or_else(|| "-".into(), |d| format!("{:.1} s", d as f64 / 1000.0)),
        esc(r.deployment_config.as_deref().unwrap_or("-")),
        esc(&r.git_commit),
        esc(&settings.account_id),
    );
    if let Some(reason) = &r.reason {
        let _ = write!(h, "<p class=\"reason\" id=\"reason\">{}</p>", esc(reason));
    }
    stop_section(&mut h, r.stop.as_ref());
    shadow_section(&mut h, r);
    functions_section(&mut h, r, timeline);
    h.push_str(&format!("<script>{SCRIPT}</script></body></html>"));
    h
}

fn status_class(r: &ReleaseRecord) -> &'static str {
    match r.status {
        crate::ledger::Status::Succeeded => "good",
        crate::ledger::Status::InProgress => "",
        _ => "bad",
    }
}

fn stop_section(h: &mut String, stop: Option<&StopCause>) {
    let Some(stop) = stop else { return };
    h.push_str("<h2>What stopped it</h2>");
    let text = match stop {
        StopCause::Alarm { alarm, function, metric, value, threshold } => format!(
            "alarm {alarm} went to ALARM on {}: {} = {} (threshold {})",
            function.as_deref().unwrap_or("the environment"),
            metric.as_deref().unwrap_or("?"),
            value.map_or("?".into(), num),
            threshold.map_or("?".into(), num)
        ),
        StopCause::Judged { function, step_percent, judgment } => {
            format!("the judge failed {function} in its {step_percent:.0}% step: {}", judgment.summary())
        }
        StopCause::ShadowDiff { diff } => format!("the shadow run before traffic: {}", diff.summary()),
        StopCause::NoEvidence { function, step_percent, invocations, min_invocations } => format!(
            "no evidence: {function} served {} of {min_invocations} invocations in its {step_percent:.0}% step",
            num(*invocations)
        ),
        other => format!("{other:?}"),
    };
    let _ = write!(h, "<p class=\"bad\" id=\"stop\">{}</p>", esc(&text));
}

fn shadow_section(h: &mut String, r: &ReleaseRecord) {
    let Some(diff) = &r.shadow else { return };
    h.push_str("<h2>Shadow run before traffic</h2>");
    let _ = write!(
        h,
        "<p id=\"shadow\" class=\"{}\">{}</p><table><tr><th>Production records</th><th>Identical</th><th>Changed</th>\
         <th>Expected changes</th><th>Missing</th><th>Added</th><th>Newly quarantined</th></tr><tr><td>{}</td><td>{}</td>\
         <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
        if diff.verdict.stops() { "bad" } else { "good" },
        esc(&format!(
            "{}{}",
            diff.run_date.as_deref().map(|d| format!("{d}: ")).unwrap_or_default(),
            diff.summary()
        )),
        diff.production_records,
        diff.identical,
        diff.changed,
        diff.expected_changes,
        diff.missing,
        diff.added,
        diff.newly_quarantined
    );
    if !diff.examples.is_empty() {
        h.push_str(
            "<table class=\"examples\"><tr><th>Record</th><th>Field</th><th>Production</th><th>New release</th></tr>",
        );
        for e in &diff.examples {
            for c in &e.fields {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(e.order_id.as_deref().unwrap_or(&e.idempotency_key)),
                    esc(&c.field),
                    esc(&c.production.to_string()),
                    esc(&c.shadow.to_string())
                );
            }
        }
        h.push_str("</table>");
    }
}

fn functions_section(h: &mut String, r: &ReleaseRecord, timeline: &Timeline) {
    h.push_str("<h2>Functions</h2><table><tr><th>Function</th><th>Versions</th><th>Change</th><th>Outcome</th><th>Deployment</th></tr>");
    for (artifact, f) in &r.functions {
        let _ = write!(
            h,
            "<tr><td>{} ({})</td><td>{} &rarr; {}</td><td>{:?}</td><td>{:?}</td><td>{}</td></tr>",
            esc(artifact),
            esc(&f.function_name),
            esc(&f.previous_version),
            esc(f.version.as_deref().unwrap_or("-")),
            f.change,
            f.outcome,
            esc(f.deployment_id.as_deref().unwrap_or("-"))
        );
    }
    h.push_str("</table>");
    if !timeline.unavailable.is_empty() {
        h.push_str("<p class=\"unavailable\">Not read from CloudWatch (the ledger's figures stand):</p><ul class=\"unavailable\">");
        for note in &timeline.unavailable {
            let _ = write!(h, "<li>{}</li>", esc(note));
        }
        h.push_str("</ul>");
    }
    for (artifact, f) in &r.functions {
        let steps: Vec<&StepEvidence> = r.evidence.iter().filter(|e| &e.artifact == artifact).collect();
        let line = timeline.functions.get(artifact);
        if steps.is_empty() && line.is_none() {
            continue;
        }
        let _ = write!(h, "<section class=\"function\" id=\"fn-{}\"><h3>{}</h3>", esc(artifact), esc(&f.function_name));
        if !steps.is_empty() {
            h.push_str(&weight_chart(r, &steps));
            h.push_str(&bars(&steps));
        }
        if let Some(line) = line {
            h.push_str(&timeline_chart::render(line, timeline.from_ms, timeline.to_ms));
        }
        if steps.is_empty() {
            h.push_str("</section>");
            continue;
        }
        h.push_str(
            "<table class=\"steps\"><tr><th>Step</th><th>Window</th><th>New: inv / err / p99</th>\
             <th>Old: inv / err / p99</th><th>Evidence</th><th>Judge</th></tr>",
        );
        for e in &steps {
            let judge = e.judgment.as_ref();
            let _ = write!(
                h,
                "<tr><td>{:.0}%</td><td><time datetime=\"{}\">{}</time> &ndash; <time datetime=\"{}\">{}</time></td>\
                 <td>v{}: {} / {} / {}</td><td>v{}: {} / {} / {}</td><td>{:?}</td><td class=\"judge {}\">{}</td></tr>",
                e.step_percent,
                esc(&e.started_at),
                esc(&e.started_at),
                esc(&e.ended_at),
                esc(&e.ended_at),
                esc(&e.new_version),
                num(e.new.invocations),
                num(e.new.errors),
                ms(e.new.p99_ms),
                esc(&e.old_version),
                num(e.old.invocations),
                num(e.old.errors),
                ms(e.old.p99_ms),
                e.verdict,
                judge.map_or("", |j| j.verdict.as_str()),
                esc(&judge.map_or_else(|| "-".into(), |j| format!("{}: {}", j.verdict.as_str(), j.summary())))
            );
        }
        h.push_str("</table></section>");
    }
}

/// The weight on the new version over the release, step by step: a step chart from
/// the release's start to its end (100 % at the end of a success, 0 after a rollback).
fn weight_chart(r: &ReleaseRecord, steps: &[&StepEvidence]) -> String {
    let (w, hgt) = (600.0, 120.0);
    let start = r.started_ms as f64;
    let end = r.duration_ms.map_or_else(
        || steps.last().map_or(start + 1.0, |s| parse_ms(&s.ended_at).unwrap_or(start + 1.0)),
        |d| start + d as f64,
    );
    let span = (end - start).max(1.0);
    let x = |t: f64| ((t - start) / span * w).clamp(0.0, w);
    let y = |p: f64| hgt - p / 100.0 * hgt;
    let mut points = vec![format!("0,{hgt}")];
    for s in steps {
        let (a, b) = (parse_ms(&s.started_at).unwrap_or(start), parse_ms(&s.ended_at).unwrap_or(end));
        points.push(format!("{:.1},{hgt}", x(a)));
        points.push(format!("{:.1},{:.1}", x(a), y(s.step_percent)));
        points.push(format!("{:.1},{:.1}", x(b), y(s.step_percent)));
    }
    let last = if r.status == crate::ledger::Status::Succeeded { 100.0 } else { 0.0 };
    if let Some(b) = steps.last().and_then(|s| parse_ms(&s.ended_at)) {
        points.push(format!("{:.1},{:.1}", x(b), y(last)));
    }
    points.push(format!("{w},{:.1}", y(last)));
    format!(
        "<figure><svg class=\"weight\" viewBox=\"0 0 {w} {}\" role=\"img\" aria-label=\"weight on the new version\">\
         <polyline fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"2\" points=\"{}\"/>\
         <text x=\"2\" y=\"12\">100%</text><text x=\"2\" y=\"{hgt}\">0%</text></svg>\
         <figcaption>Traffic on the new version, over the release</figcaption></figure>",
        hgt + 4.0,
        points.join(" ")
    )
}

/// Invocations (and errors) of each version per step, as bars.
fn bars(steps: &[&StepEvidence]) -> String {
    let max = steps.iter().map(|s| s.new.invocations.max(s.old.invocations)).fold(1.0, f64::max);
    let (bar, gap, hgt) = (18.0, 14.0, 100.0);
    let mut svg = String::new();
    for (i, s) in steps.iter().enumerate() {
        let x0 = i as f64 * (2.0 * bar + gap);
        for (j, (stats, colour)) in [(&s.old, "#8c959f"), (&s.new, "#1f6feb")].into_iter().enumerate() {
            let x = x0 + j as f64 * bar;
            let total = stats.invocations / max * hgt;
            let errors = stats.errors.min(stats.invocations) / max * hgt;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{total:.1}\" fill=\"{colour}\"><title>{} invocations</title></rect>\
                 <rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{errors:.1}\" fill=\"#cf222e\"><title>{} errors</title></rect>",
                hgt - total,
                bar - 2.0,
                num(stats.invocations),
                hgt - errors,
                bar - 2.0,
                num(stats.errors)
            );
        }
    }
    let width = (steps.len() as f64 * (2.0 * bar + gap)).max(60.0);
    format!(
        "<figure><svg class=\"bars\" viewBox=\"0 0 {width:.0} {hgt}\" role=\"img\" aria-label=\"invocations per step\">{svg}</svg>\
         <figcaption>Invocations per step: old version (grey), new (blue), errors (red)</figcaption></figure>"
    )
}

/// Milliseconds since the epoch of an RFC 3339 time as the ledger writes it.
fn parse_ms(text: &str) -> Option<f64> {
    crate::ledger::parse_rfc3339_ms(text).map(|v| v as f64)
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:72em;color:#1f2328}\
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #d0d7de;padding:.25em .5em;text-align:left}\
.good{color:#1a7f37}.bad{color:#cf222e}.reason{background:#f6f8fa;padding:.5em}figure{margin:.5em 0}\
svg{border:1px solid #d0d7de}svg.weight{width:100%;max-width:600px;height:auto}\
svg.bars{height:100px;width:auto}svg text{font-size:10px}";

/// Times in the reader's zone; marks the page rendered (the browser test reads it).
const SCRIPT: &str = "for(const t of document.querySelectorAll('time')){const d=new Date(t.dateTime);\
if(!isNaN(d))t.title=d.toLocaleString();}document.body.dataset.rendered='yes';";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::VersionStats;
    use crate::judge::{Judgment, Rule};
    use crate::ledger::{rfc3339, Change, EvidenceVerdict, FunctionOutcome, FunctionRecord, RecordKind, Status};
    use crate::shadow::diff::{compare, Output};
    use crate::shadow::Policy;

    const SETTINGS: &str = "environment: test\naccount_id: \"222222222222\"\nregion: us-east-1\ndeploy_role: deployer\n\
        application: etl-test\ndeployment_config: CodeDeployDefault.LambdaCanary10Percent5Minutes\n\
        hooks: {pre_traffic: etl-test-pre-traffic, post_traffic: etl-test-post-traffic}\nrelease_table: etl-test-releases\n\
        artifact_bucket: artifacts-444444444444-us-east-1\nfunctions:\n  transform: {function_name: etl-test-transform, alarms: []}\n";

    fn record() -> ReleaseRecord {
        let start = 1_700_000_000_000;
        let mut r = ReleaseRecord::start("r-<b&d>", "c0ffee", "test", RecordKind::Promote, "me", start);
        r.functions.insert(
            "transform".into(),
            FunctionRecord {
                function_name: "etl-test-transform".into(),
                previous_version: "6".into(),
                version: Some("7".into()),
                code_sha256: "x".into(),
                changed: true,
                change: Change::Code,
                configuration: Vec::new(),
                deployment_id: Some("d-123".into()),
                outcome: FunctionOutcome::RolledBack,
                duration_ms: None,
            },
        );
        let new = VersionStats { invocations: 40.0, errors: 12.0, p50_ms: Some(20.0), p99_ms: Some(41.0) };
        let old = VersionStats { invocations: 380.0, errors: 0.0, p50_ms: Some(19.0), p99_ms: Some(38.0) };
        r.evidence.push(StepEvidence {
            artifact: "transform".into(),
            function_name: "etl-test-transform".into(),
            step_percent: 10.0,
            started_at: rfc3339(start + 5_000),
            ended_at: rfc3339(start + 65_000),
            new_version: "7".into(),
            old_version: "6".into(),
            new,
            old,
            replay_executions: 0,
            replay_source: None,
            min_invocations: 20,
            verdict: EvidenceVerdict::Passed,
            judgment: Some(Judgment::of(&Rule::default(), &new, &old)),
        });
        let production = Output {
            curated: vec![b"{\"idempotency_key\":\"k1\",\"order_id\":\"o1\",\"amount_minor\":1234}\n".to_vec()],
            quarantine: Vec::new(),
        };
        let shadow = Output {
            curated: vec![b"{\"idempotency_key\":\"k1\",\"order_id\":\"o1\",\"amount_minor\":1200}\n".to_vec()],
            quarantine: Vec::new(),
        };
        r.shadow = Some(compare(&production, &shadow, &[], &Policy::default()));
        r.reason = Some("the judge failed <transform>".into());
        r.finish(Status::RolledBack, start + 70_000);
        r
    }

    #[test]
    fn the_page_shows_the_releases_numbers_and_escapes_what_it_quotes() {
        let settings =
            Settings::parse(std::path::Path::new("environments/test/deployer.yaml"), "test", SETTINGS, false).unwrap();
        let page = render(&settings, &record(), &Timeline::default());
        assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</html>"));
        assert!(page.contains("<title>Release r-&lt;b&amp;d&gt; in test</title>"), "escaped");
        assert!(!page.contains("<transform>"), "quoted text is escaped");
        for needle in [
            "v7: 40 / 12 / 41 ms",
            "v6: 380 / 0 / 38 ms",
            "fail: errors 12/40 on the new version vs 0/380 on the old",
            "<td>o1</td><td>amount_minor</td><td>1234</td><td>1200</td>",
            "<polyline",
            "10%",
            "d-123",
        ] {
            assert!(page.contains(needle), "{needle:?} not in the page");
        }
        assert!(!page.contains("http://") && !page.contains("https://"), "self-contained: nothing fetched");
        assert_eq!((num(-0.0), num(3.0), num(2.3)), ("0".to_owned(), "3".to_owned(), "2.3".to_owned()));
    }
}
