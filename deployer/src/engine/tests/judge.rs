//! The judge in the release: a step whose new version is surely worse than the old
//! stops and rolls back with the judge's numbers; the old version's errors never roll a
//! good release back.

use super::*;

/// `function`'s `version` serves `n` invocations in every window, `errors` of them
/// failed: the live traffic the other side of the split serves during a step.
fn served(env: &Env, artifact: &str, version: &str, n: u32, errors: u32) {
    let function = format!("etl-{}-{artifact}", env.settings.environment);
    env.cloud.with(|w| w.steady_traffic.insert((function, version.into()), (n, errors)));
}

fn replaying(env: &Env) -> Env {
    let env = with_evidence(env, 3, true, crate::settings::Traffic::Replay);
    env.cloud.with(|w| w.raw_dates = vec!["2026-11-21".into(), "2026-11-22".into()]);
    slow_canaries(&env, 4);
    env
}

#[tokio::test(start_paused = true)]
async fn a_new_version_that_fails_where_the_old_did_not_is_stopped_by_the_judge() {
    let base = package("base");
    let prod = replaying(&Env::new("prod", &base.0));
    served(&prod, "transform", "1", 200, 0);
    // Every replay fails on the new release: its invocations are errors.
    prod.cloud.with(|w| w.executions_fail = true);
    let r = prod.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::RolledBack), "{:?} {:?}", r.verdict, r.record.reason);
    let Some(StopCause::Judged { function, step_percent, judgment }) = &r.record.stop else {
        panic!("stopped by the judge, not {:?}", r.record.stop)
    };
    assert_eq!((function.as_str(), *step_percent), ("etl-prod-transform", 10.0));
    assert_eq!(judgment.verdict, crate::judge::Verdict::Fail);
    // The live traffic, and the replays pinned to the old release (which succeed).
    assert!(judgment.errors.old_errors == 0 && judgment.errors.old_invocations >= 200, "{judgment:?}");
    assert!(judgment.errors.new_errors >= 3 && judgment.errors.new_errors == judgment.errors.new_invocations);
    assert!(judgment.errors.p_value.is_some_and(|p| p < 1e-4), "{judgment:?}");
    let reason = r.record.reason.clone().unwrap_or_default();
    assert!(reason.starts_with("the judge failed etl-prod-transform version 2"), "{reason}");
    assert!(reason.contains("on the old (+100.0 points, p = 0.0000): fail"), "{reason}");
    assert_eq!(prod.versions(), all_on("prod", "1"));
}

#[tokio::test(start_paused = true)]
async fn the_old_versions_errors_do_not_roll_a_good_release_back() {
    let base = package("base");
    let prod = replaying(&Env::new("prod", &base.0));
    for artifact in ["extract", "transform", "load"] {
        served(&prod, artifact, "1", 100, 30);
    }
    let r = prod.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::Succeeded), "{:?} {:?}", r.verdict, r.record.reason);
    let transform = r.record.evidence.iter().find(|e| e.artifact == "transform").expect("transform's step");
    let judgment = transform.judgment.as_ref().expect("judged");
    assert_eq!(judgment.verdict, crate::judge::Verdict::Pass, "{judgment:?}");
    assert_eq!((judgment.errors.old_errors, judgment.errors.new_errors), (30, 0));
    assert_eq!(prod.versions(), all_on("prod", "2"));
}

#[tokio::test(start_paused = true)]
async fn with_the_judge_off_the_same_failures_are_left_to_the_alarms() {
    let base = package("base");
    let mut prod = replaying(&Env::new("prod", &base.0));
    prod.settings.judge.enabled = false;
    served(&prod, "transform", "1", 200, 0);
    prod.cloud.with(|w| w.executions_fail = true);
    let r = prod.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(!matches!(r.record.stop, Some(StopCause::Judged { .. })), "{:?}", r.record.stop);
    let transform = r.record.evidence.iter().find(|e| e.artifact == "transform").expect("transform's step");
    assert_eq!(transform.judgment.as_ref().map(|j| j.verdict), Some(crate::judge::Verdict::NotJudged));
}

#[tokio::test(start_paused = true)]
async fn an_alarm_stop_carries_the_judges_numbers_for_the_step_it_cut_short() {
    let base = package("base");
    let test = Env::new("test", &base.0);
    for f in FUNCTIONS {
        test.cloud.with(|w| w.behaviour.insert(format!("etl-test-{f}"), Behaviour::Hang));
    }
    // Live traffic during the canary: the old version clean, the new one failing.
    served(&test, "extract", "1", 180, 0);
    served(&test, "extract", "2", 20, 12);
    test.cloud.after_nth("GetDeployment", None, 8, |w| {
        w.alarms.insert("etl-test-extract-errors".into(), AlarmState::Alarm);
    });
    let r = test.deploy(&MemoryCloud::default(), &package("bad")).await;
    assert!(matches!(r.verdict, Verdict::RolledBack), "{:?}", r.verdict);
    assert!(matches!(&r.record.stop, Some(StopCause::Alarm { alarm, .. }) if alarm == "etl-test-extract-errors"));
    let extract = r.record.evidence.iter().find(|e| e.artifact == "extract").expect("the cut-short step, judged");
    let judgment = extract.judgment.as_ref().unwrap();
    assert_eq!(judgment.verdict, crate::judge::Verdict::Fail);
    assert_eq!((judgment.errors.new_errors, judgment.errors.old_invocations), (12, 180));
    assert_eq!(r.record.evidence.len(), 1, "only the alarmed function's step");
    let reason = r.record.reason.clone().unwrap_or_default();
    assert!(reason.contains("; the judge, over the step so far: etl-test-extract: fail (errors 12/20"), "{reason}");
}

use crate::judge::Verdict as Judged;

/// Replays enough for the pairs to be judged: eight inputs per step.
fn pairing(env: &Env) -> Env {
    let env = with_evidence(env, 8, true, crate::settings::Traffic::Replay);
    env.cloud.with(|w| w.raw_dates = vec!["2026-11-21".into(), "2026-11-22".into()]);
    slow_canaries(&env, 6);
    env
}

#[tokio::test(start_paused = true)]
async fn a_new_version_slower_on_the_same_inputs_is_stopped_by_the_paired_replays() {
    let base = package("base");
    let prod = pairing(&Env::new("prod", &base.0));
    // CloudWatch sees nothing wrong (the fake's percentiles are the same for both);
    // the same inputs take four times as long in the new transform's state.
    prod.cloud.with(|w| w.state_ms.insert(("transform".into(), true), 400));
    let r = prod.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::RolledBack), "{:?} {:?}", r.verdict, r.record.reason);
    let Some(StopCause::Judged { function, judgment, .. }) = &r.record.stop else {
        panic!("stopped by the judge, not {:?}", r.record.stop)
    };
    assert_eq!(function, "etl-prod-transform");
    assert_eq!((judgment.errors.verdict, judgment.duration.verdict), (Judged::Pass, Judged::NotJudged));
    let paired = judgment.paired.as_ref().expect("the pairs");
    assert_eq!((paired.duration_verdict, paired.verdict), (Judged::Fail, Judged::Fail));
    assert!(paired.pairs >= 7 && paired.median_ratio.is_some_and(|r| r > 3.0), "{paired:?}");
    assert!(paired.p_value.is_some_and(|p| p < 0.01), "{paired:?}");
    let reason = r.record.reason.clone().unwrap_or_default();
    assert!(reason.contains("paired replays: median"), "{reason}");
    // The functions that are as fast passed their steps before.
    let extract = r.record.evidence.iter().find(|e| e.artifact == "extract").and_then(|e| e.judgment.clone());
    assert_eq!(extract.and_then(|j| j.paired).map(|p| p.verdict), Some(Judged::Pass));
    assert_eq!(prod.versions(), all_on("prod", "1"));
}

#[tokio::test(start_paused = true)]
async fn a_deterministic_function_answering_differently_is_stopped_unless_the_release_says_so() {
    let base = package("base");
    let mut prod = pairing(&Env::new("prod", &base.0));
    for f in &mut prod.settings.functions {
        f.deterministic = f.artifact != "compensate";
    }
    prod.cloud.with(|w| w.new_answers_differ.insert("transform".into()));
    let r = prod.deploy(&MemoryCloud::default(), &package("new")).await;
    let Some(StopCause::Judged { function, judgment, .. }) = &r.record.stop else {
        panic!("stopped by the judge, not {:?}", r.record.stop)
    };
    assert_eq!(function, "etl-prod-transform");
    let paired = judgment.paired.as_ref().expect("the pairs");
    assert_eq!((paired.output_verdict, paired.duration_verdict), (Judged::Fail, Judged::Pass));
    assert!(paired.outputs_differed >= 1 && paired.outputs_differed == paired.outputs_compared, "{paired:?}");
    assert!(r.record.reason.clone().unwrap_or_default().contains("outputs differed in"), "{:?}", r.record.reason);
    assert_eq!(prod.versions(), all_on("prod", "1"));

    // The same release, saying it changes output on purpose: shown, not acted on.
    let mut on_purpose = package("new");
    on_purpose.0.expected_output_changes = vec!["amount_minor".into()];
    let r = prod.deploy(&MemoryCloud::default(), &on_purpose).await;
    assert!(matches!(r.verdict, Verdict::Succeeded), "{:?} {:?}", r.verdict, r.record.reason);
    let transform = r.record.evidence.iter().find(|e| e.artifact == "transform").and_then(|e| e.judgment.clone());
    assert_eq!(transform.and_then(|j| j.paired).map(|p| p.output_verdict), Some(Judged::Marginal));
}

#[tokio::test(start_paused = true)]
async fn without_the_definition_the_replays_run_unpaired_and_say_so() {
    let base = package("base");
    let prod = pairing(&Env::new("prod", &base.0));
    let denied = crate::error::DeployError::infrastructure("DescribeStateMachine: AccessDenied".to_owned(), "grant it");
    prod.cloud.fail("DescribeStateMachine", None, 1, denied);
    let r = prod.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::Succeeded), "{:?} {:?}", r.verdict, r.record.reason);
    assert!(prod.events.saw("ReplayUnpaired"), "the judge's missing pairs are told");
    assert!(r.record.evidence.iter().all(|e| e.judgment.as_ref().is_some_and(|j| j.paired.is_none())));
    let old_runs = prod.cloud.with(|w| w.executions.keys().filter(|a| a.ends_with("-old")).count());
    assert_eq!(old_runs, 0, "no run pinned to the old release");
}

#[tokio::test(start_paused = true)]
async fn the_release_timeline_reads_each_versions_minutes_and_the_alarms_changes_in_its_window() {
    let base = package("base");
    let prod = pairing(&Env::new("prod", &base.0));
    let r = prod.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::Succeeded), "{:?} {:?}", r.verdict, r.record.reason);
    let during = r.record.started_ms + 1;
    let change = |at_ms: u64, to: &str| crate::cloud::AlarmChange {
        alarm: "etl-prod-transform-errors".into(),
        at_ms,
        from: "OK".into(),
        to: to.into(),
    };
    prod.cloud.with(|w| w.alarm_changes = vec![change(during, "ALARM"), change(during - 3_600_000, "OK")]);
    let timeline = prod.engine().timeline(&r.record).await;
    assert!(timeline.unavailable.is_empty(), "{:?}", timeline.unavailable);
    let transform = &timeline.functions["transform"];
    assert_eq!((transform.old_version.as_str(), transform.new_version.as_str()), ("1", "2"));
    // The replays ran both versions: each has its minutes, and they add up to the
    // invocations CloudWatch counted over the release.
    let counted = |version: &str| {
        prod.cloud.with(|w| w.invocations.iter().filter(|(f, v, ..)| f == "etl-prod-transform" && v == version).count())
    };
    let total = |points: &[crate::cloud::SeriesPoint]| points.iter().map(|p| p.invocations).sum::<f64>() as usize;
    assert!(!transform.new.is_empty() && total(&transform.new) == counted("2"), "{transform:?}");
    assert!(!transform.old.is_empty() && total(&transform.old) == counted("1"), "{transform:?}");
    assert_eq!(transform.alarms, vec![change(during, "ALARM")], "only the change in the release's window");

    // A read CloudWatch refuses is noted, not fatal: the page still has the ledger.
    let denied = crate::error::DeployError::infrastructure("GetMetricData: AccessDenied".to_owned(), "grant it");
    prod.cloud.fail("GetMetricData", Some("etl-prod-load"), 2, denied);
    let timeline = prod.engine().timeline(&r.record).await;
    assert_eq!(timeline.unavailable.len(), 2, "{:?}", timeline.unavailable);
    assert!(timeline.unavailable[0].starts_with("etl-prod-load's metrics: "), "{:?}", timeline.unavailable);
    let page = crate::report::html::render(&prod.settings, &r.record, &timeline);
    assert!(page.contains("Not read from CloudWatch") && page.contains("<li>etl-prod-load's metrics: "), "{page}");
    assert!(page.contains("<td>etl-prod-transform-errors</td><td>OK &rarr; ALARM</td>"), "the change, on the page");
}
