//! The differential shadow run in the release: before any deployment starts, the new
//! release's dry run over the last real day is compared with production's output.

use super::*;
use crate::shadow::{Policy, Verdict as ShadowVerdict};

const DAY: &str = "2026-11-22";

fn line(key: &str, amount: u64) -> String {
    format!(
        "{{\"idempotency_key\":\"{key}\",\"order_id\":\"o-{key}\",\"amount_minor\":{amount},\"status\":\"paid\"}}\n"
    )
}

fn records(amount: impl Fn(u64) -> u64) -> String {
    (0..20).map(|i| line(&format!("k{i:02}"), amount(i))).collect()
}

/// Prod with a shadow policy, production's output for DAY, and what the new release's
/// dry run writes (records with `amount`).
fn with_shadow(base: &(Manifest, BTreeMap<String, ZipBytes>), amount: impl Fn(u64) -> u64) -> Env {
    let mut prod = with_evidence(&Env::new("prod", &base.0), 0, false, crate::settings::Traffic::None);
    prod.settings.shadow = Some(Policy::default());
    let (curated, quarantine) = ("etl-prod-curated".to_owned(), "etl-prod-quarantine".to_owned());
    let part = format!("dt={DAY}/part-00000.jsonl");
    let shadow_part = format!("shadow/{part}");
    prod.cloud.with(|w| {
        w.objects.insert((curated.clone(), part.clone()), records(|i| 1000 + i).into_bytes());
        let marker = serde_json::json!({"execution_id": "real", "parts": [part]});
        w.objects.insert((curated.clone(), format!("dt={DAY}/_SUCCESS")), marker.to_string().into_bytes());
        // An older day, and the quarantine both sides share.
        w.objects.insert((curated.clone(), "dt=2026-11-21/_SUCCESS".into()), b"{}".to_vec());
        let q = "{\"object\":\"raw/a.csv\",\"line\":4,\"reasons\":[\"amount: missing\"],\"record\":\"x\"}\n";
        w.objects.insert((quarantine.clone(), format!("quarantine/dt={DAY}/batch-00000.jsonl")), q.into());
        w.shadow_output = vec![
            (curated.clone(), shadow_part.clone(), records(&amount)),
            (
                curated.clone(),
                format!("shadow/dt={DAY}/_SUCCESS"),
                serde_json::json!({"execution_id": "{execution}", "parts": [shadow_part]}).to_string(),
            ),
            (quarantine.clone(), format!("shadow/quarantine/dt={DAY}/batch-00000.jsonl"), q.into()),
        ];
    });
    prod
}

#[tokio::test(start_paused = true)]
async fn a_release_that_quietly_changes_amounts_is_stopped_before_any_traffic() {
    let base = package("base");
    // Amounts rounded down to whole units: 1005 -> 1000.
    let prod = with_shadow(&base, |i| 1000 + i - (1000 + i) % 10);
    let r = prod.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::RolledBack), "{:?} {:?}", r.verdict, r.record.reason);
    let Some(StopCause::ShadowDiff { diff }) = &r.record.stop else { panic!("{:?}", r.record.stop) };
    assert_eq!((diff.verdict, diff.production_records, diff.changed, diff.identical), (ShadowVerdict::Fail, 20, 18, 2));
    assert_eq!(diff.run_date.as_deref(), Some(DAY), "the newest finished day");
    assert_eq!(diff.examples.len(), 3);
    assert_eq!(diff.examples[0].fields[0].field, "amount_minor");
    assert_eq!(diff.newly_quarantined, 0, "the quarantine both wrote is not new");
    let reason = r.record.reason.clone().unwrap_or_default();
    assert!(
        reason.starts_with(&format!("the shadow run of {DAY} on the new release changed production's output")),
        "{reason}"
    );
    assert!(prod.cloud.with(|w| w.deployments.is_empty()), "no deployment started: no traffic moved");
    assert_eq!(prod.versions(), all_on("prod", "1"));
    assert!(prod.cloud.with(|w| w.routing.is_none()), "the routing record is gone");
    let inputs: Vec<String> = prod.cloud.with(|w| w.executions.values().map(|(i, _)| i.clone()).collect());
    assert_eq!(inputs.len(), 1);
    assert!(inputs[0].contains(DAY) && inputs[0].contains("\"dry_run\":true") && inputs[0].contains("\"pin\":\"new\""));
    assert!(prod.events.saw("ShadowCompared"));
}

#[tokio::test(start_paused = true)]
async fn the_same_output_lets_the_release_go_on_and_is_recorded() {
    let base = package("base");
    let prod = with_shadow(&base, |i| 1000 + i);
    let r = prod.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::Succeeded), "{:?} {:?}", r.verdict, r.record.reason);
    let diff = r.record.shadow.as_ref().expect("the shadow diff is recorded");
    assert_eq!((diff.verdict, diff.identical), (ShadowVerdict::Identical, 20));
    assert_eq!(prod.versions(), all_on("prod", "2"));
}

#[tokio::test(start_paused = true)]
async fn a_change_the_release_names_is_allowed() {
    let base = package("base");
    let prod = with_shadow(&base, |i| 2000 + i);
    let mut release = package("new");
    release.0.expected_output_changes = vec!["amount_minor".into()];
    let r = prod.deploy(&MemoryCloud::default(), &release).await;
    assert!(matches!(r.verdict, Verdict::Succeeded), "{:?} {:?}", r.verdict, r.record.reason);
    let diff = r.record.shadow.as_ref().unwrap();
    assert_eq!((diff.verdict, diff.expected_changes, diff.changed), (ShadowVerdict::WithinPolicy, 20, 0));
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_that_fails_stops_the_release_and_no_real_run_yet_compares_nothing() {
    let base = package("base");
    let prod = with_shadow(&base, |i| 1000 + i);
    prod.cloud.with(|w| w.executions_fail = true);
    let r = prod.deploy(&MemoryCloud::default(), &package("new")).await;
    let Some(StopCause::ShadowDiff { diff }) = &r.record.stop else { panic!("{:?}", r.record.stop) };
    assert_eq!(diff.verdict, ShadowVerdict::RunFailed);
    assert!(diff.note.as_deref().is_some_and(|n| n.contains("failed on the new release")), "{diff:?}");
    assert_eq!(prod.versions(), all_on("prod", "1"));

    let fresh = with_shadow(&base, |i| 1000 + i);
    fresh.cloud.with(|w| w.objects.clear());
    let r = fresh.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::Succeeded), "{:?}", r.record.reason);
    assert_eq!(r.record.shadow.as_ref().map(|d| d.verdict), Some(ShadowVerdict::NotCompared));
}
