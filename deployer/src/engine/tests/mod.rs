//! The release state machine over the in-memory cloud, with time paused so that polls,
//! canaries and timeouts run instantly: the end-to-end scenarios as fast unit tests,
//! and the edges the end-to-end test cannot reach cheaply.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::cloud::memory::{service_error, Behaviour, MemoryCloud, World};
use crate::cloud::{
    artifact_key, AlarmChange, AlarmState, DeploymentStatus, FunctionConfig, HookVerdict, Ledger as _, LockInfo,
};
use crate::error::RefusalKind;
use crate::ledger::{now_ms, rfc3339, Change, EvidenceVerdict, FunctionOutcome, RecordKind, Status, StopCause};
use crate::release::{self, Artifact, ArtifactKind, Manifest, ZipBytes, FUNCTIONS, HOOKS, MANIFEST};
use crate::settings::Settings;

const ME: &str = "me@unit-test:1";

/// An environment's settings (dev deploys; test and prod take promotions).
fn settings(env: &str) -> Settings {
    let (config, chain) = match env {
        "dev" => ("CodeDeployDefault.LambdaAllAtOnce", String::new()),
        "test" => ("CodeDeployDefault.LambdaCanary10Percent5Minutes", "promotes_from: dev\nmin_soak: 0\n".into()),
        _ => ("CodeDeployDefault.LambdaCanary10Percent5Minutes", "promotes_from: test\nmin_soak: 1h\n".into()),
    };
    let functions: String = FUNCTIONS
        .iter()
        .map(|f| format!("  {f}: {{function_name: etl-{env}-{f}, alarms: [etl-{env}-{f}-errors]}}\n"))
        .collect();
    let text = format!(
        "environment: {env}\naccount_id: \"111111111111\"\nregion: us-east-1\ndeploy_role: deployer\n{chain}\
         application: etl-{env}\ndeployment_config: {config}\n\
         hooks: {{pre_traffic: etl-{env}-pre-traffic, post_traffic: etl-{env}-post-traffic}}\n\
         release_table: etl-{env}-releases\nartifact_bucket: artifacts\npoll_interval: 5s\nfunctions:\n{functions}"
    );
    Settings::parse(Path::new(&format!("environments/{env}/deployer.yaml")), env, &text, false).expect("test settings")
}

/// A release whose every artifact holds `marker`.
fn package(marker: &str) -> (Manifest, BTreeMap<String, ZipBytes>) {
    let mut artifacts = BTreeMap::new();
    let mut zips = BTreeMap::new();
    for (name, kind) in
        FUNCTIONS.iter().map(|f| (f, ArtifactKind::Function)).chain(HOOKS.iter().map(|h| (h, ArtifactKind::Hook)))
    {
        let bytes = ZipBytes::from(format!("{name}:{marker}"));
        artifacts.insert(
            (*name).to_owned(),
            Artifact {
                kind,
                file: format!("{name}.zip"),
                sha256: release::sha256_hex(&bytes),
                code_sha256: release::code_sha256(&bytes),
                size: bytes.len() as u64,
                architecture: Some(crate::settings::Architecture::X86_64),
                glibc: Some("2.34".into()),
                profile: Some(release::Profile::Release),
            },
        );
        zips.insert((*name).to_owned(), bytes);
    }
    let manifest = Manifest {
        schema: release::SCHEMA,
        release_id: release::release_id(&artifacts),
        git_commit: "c0ffee".into(),
        artifacts,
        expected_output_changes: Vec::new(),
    };
    (manifest, zips)
}

/// An environment's account, running `base` everywhere, with every alarm OK.
fn account(s: &Settings, base: &Manifest) -> MemoryCloud {
    let cloud = MemoryCloud::default();
    for f in &s.functions {
        cloud.add_function(&f.function_name, &base.artifacts[&f.artifact].code_sha256);
    }
    cloud.add_function(&s.hooks.pre_traffic, &base.artifacts["pre-traffic"].code_sha256);
    cloud.add_function(&s.hooks.post_traffic, &base.artifacts["post-traffic"].code_sha256);
    cloud.with(|w| {
        w.configs.insert(s.deployment_config.clone());
        for f in &s.functions {
            w.groups.insert((s.application.clone(), f.deployment_group.clone()));
            for a in &f.alarms {
                w.alarms.insert(a.clone(), AlarmState::Ok);
            }
        }
    });
    cloud
}

/// Records every event, for the assertions on what the engine told.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Observer for Recorder {
    fn event(&self, event: Event<'_>) {
        let name = format!("{event:?}");
        let name = name.split([' ', '{', '(']).next().unwrap_or_default().to_owned();
        self.0.lock().unwrap().push(name);
    }
}

impl Recorder {
    fn saw(&self, name: &str) -> bool {
        self.0.lock().unwrap().iter().any(|e| e == name)
    }
}

struct Env {
    settings: Settings,
    cloud: MemoryCloud,
    events: Arc<Recorder>,
}

impl Env {
    fn new(name: &str, base: &Manifest) -> Self {
        let settings = settings(name);
        let cloud = account(&settings, base);
        Self { settings, cloud, events: Arc::default() }
    }

    fn engine(&self) -> Engine<'_, MemoryCloud> {
        Engine::new(&self.settings, self.cloud.clone(), self.events.as_ref()).holder(ME)
    }

    async fn deploy(&self, store: &MemoryCloud, release: &(Manifest, BTreeMap<String, ZipBytes>)) -> ReleaseOutcome {
        let incoming = Incoming {
            manifest: release.0.clone(),
            zips: Zips::Ready(release.1.clone()),
            kind: RecordKind::Deploy,
            source_environment: None,
        };
        self.engine().release(incoming, Some(store)).await.expect("the release runs to a verdict")
    }

    /// Promotes the newest release of `source` here, as `deployer promote` does.
    async fn promote(&self, source: &Env, store: &MemoryCloud, now: u64) -> crate::error::Result<ReleaseOutcome> {
        let records = source.cloud.records(None).await?;
        let record = policy::promotable(&records, &source.settings.environment, self.settings.min_soak, now)?.clone();
        let loaded = fetch_release(store, &record).await?;
        let incoming = Incoming {
            manifest: loaded.manifest,
            zips: Zips::Ready(loaded.zips),
            kind: RecordKind::Promote,
            source_environment: Some(source.settings.environment.clone()),
        };
        self.engine().release(incoming, None::<&MemoryCloud>).await
    }

    fn versions(&self) -> BTreeMap<String, String> {
        self.cloud
            .aliases()
            .into_iter()
            .filter(|(n, _)| !n.ends_with("-traffic"))
            .map(|(n, (v, extra))| {
                assert!(extra.is_none(), "{n} is split: {extra:?}");
                (n, v)
            })
            .collect()
    }

    fn live_code(&self) -> BTreeMap<String, String> {
        self.cloud.live_code().into_iter().filter(|(n, _)| !n.ends_with("-traffic")).collect()
    }
}

fn code_of(env: &str, manifest: &Manifest) -> BTreeMap<String, String> {
    FUNCTIONS.iter().map(|f| (format!("etl-{env}-{f}"), manifest.artifacts[*f].code_sha256.clone())).collect()
}

fn all_on(env: &str, version: &str) -> BTreeMap<String, String> {
    FUNCTIONS.iter().map(|f| (format!("etl-{env}-{f}"), version.to_owned())).collect()
}

fn outcomes(r: &ReleaseOutcome) -> Vec<FunctionOutcome> {
    r.record.functions.values().map(|f| f.outcome).collect()
}

#[tokio::test(start_paused = true)]
async fn an_unchanged_release_changes_nothing() {
    let base = package("base");
    let dev = Env::new("dev", &base.0);
    let store = MemoryCloud::default();
    let r = dev.deploy(&store, &base).await;
    assert!(matches!(r.verdict, Verdict::NoChanges), "{:?}", r.verdict);
    assert_eq!(r.record.status, Status::Succeeded);
    assert_eq!(dev.cloud.calls("PublishVersion") + dev.cloud.calls("CreateDeployment"), 0);
    assert_eq!(dev.versions(), all_on("dev", "1"));
    assert!(outcomes(&r).iter().all(|o| *o == FunctionOutcome::Skipped));
}

#[tokio::test(start_paused = true)]
async fn a_good_release_goes_dev_test_prod_with_the_same_bytes_and_waits_for_the_soak() {
    let base = package("base");
    let good = package("good");
    let (dev, test, prod) = (Env::new("dev", &base.0), Env::new("test", &base.0), Env::new("prod", &base.0));
    let store = MemoryCloud::default();

    // Nothing to promote before anything was deployed; deploying into prod is refused.
    let e = test.promote(&dev, &store, now_ms()).await.expect_err("nothing yet");
    assert_eq!(e.refusal().map(|r| r.kind), Some(RefusalKind::NothingToPromote));
    assert_eq!(policy::deploy_allowed(&prod.settings).map_err(|r| r.kind), Err(RefusalKind::PromotionOnly));

    let r = dev.deploy(&store, &good).await;
    assert!(matches!(r.verdict, Verdict::Succeeded), "{:?}", r.verdict);
    assert!(outcomes(&r).iter().all(|o| *o == FunctionOutcome::Succeeded));
    assert_eq!(dev.versions(), all_on("dev", "2"));
    assert_eq!(dev.live_code(), code_of("dev", &good.0));
    assert!(r.record.hooks.values().all(|h| h.updated), "the hooks' code ships first");
    assert!(store.with(|w| w.store.contains_key(&artifact_key(&good.0.release_id, MANIFEST))), "stored for promotion");

    let r = test.promote(&dev, &store, now_ms()).await.expect("promoted");
    assert!(matches!(r.verdict, Verdict::Succeeded), "{:?}", r.verdict);
    assert_eq!((r.record.kind, r.record.source_environment.as_deref()), (RecordKind::Promote, Some("dev")));
    assert_eq!(test.live_code(), code_of("test", &good.0), "test runs the bytes dev ran");

    let e = prod.promote(&test, &store, now_ms()).await.expect_err("not soaked");
    let refusal = e.refusal().expect("a refusal");
    assert_eq!(refusal.kind, RefusalKind::NotSoaked);
    let ready = refusal.retry_after_ms.expect("says when");
    let r = prod.promote(&test, &store, ready).await.expect("soaked by then");
    assert!(matches!(r.verdict, Verdict::Succeeded));
    assert_eq!(prod.live_code(), code_of("prod", &good.0));
    assert_eq!(prod.versions(), all_on("prod", "2"));
}

#[tokio::test(start_paused = true)]
async fn an_alarm_in_the_canary_rolls_every_function_back_and_blocks_promotion() {
    let base = package("base");
    let test = Env::new("test", &base.0);
    for f in FUNCTIONS {
        test.cloud.with(|w| w.behaviour.insert(format!("etl-test-{f}"), Behaviour::Hang));
    }
    let store = MemoryCloud::default();
    // Every function is in its canary after the eighth GetDeployment (two polls of four).
    test.cloud.after_nth("GetDeployment", None, 8, |w| {
        w.alarms.insert("etl-test-extract-errors".into(), AlarmState::Alarm);
    });
    let r = test.deploy(&store, &package("bad")).await;
    assert!(matches!(r.verdict, Verdict::RolledBack), "{:?}", r.verdict);
    assert_eq!(r.record.status, Status::RolledBack);
    match &r.record.stop {
        Some(StopCause::Alarm { alarm, function, value, .. }) => {
            assert_eq!(
                (alarm.as_str(), function.as_deref(), *value),
                ("etl-test-extract-errors", Some("etl-test-extract"), Some(3.0))
            );
        }
        other => panic!("stopped by the alarm, not {other:?}"),
    }
    assert_eq!(r.alarm_function.as_deref(), Some("etl-test-extract"));
    assert!(r
        .record
        .reason
        .as_deref()
        .is_some_and(|m| m.contains("etl-test-extract-errors") && m.contains("etl-test-extract")));
    assert_eq!(test.versions(), all_on("test", "1"), "every function back, none split");
    assert!(outcomes(&r).iter().all(|o| *o == FunctionOutcome::RolledBack));
    assert_eq!(test.cloud.calls("StopDeployment"), 4);
    let records = test.cloud.records(None).await.unwrap();
    let e = policy::promotable(&records, "test", Duration::ZERO, now_ms()).unwrap_err();
    assert_eq!(e.kind, RefusalKind::SourceFailed);
}

/// CodeDeploy stops extract's deployment on its alarm (ALARM_ACTIVE) between two of
/// the deployer's reads, and the alarm is back to OK when the deployer looks.
fn codedeploy_stops_extract_on_its_alarm(w: &mut World, back_to_ok: bool) {
    let now = now_ms();
    if let Some(d) = w.deployments.values_mut().find(|d| d.function == "etl-test-extract") {
        d.status = DeploymentStatus::Stopped;
        d.alarm_stop = true;
        d.error = Some("alarm etl-test-extract-errors is in ALARM: the deployment was stopped".into());
    }
    w.alarm_changes.push(AlarmChange {
        alarm: "etl-test-extract-errors".into(),
        at_ms: now,
        from: "OK".into(),
        to: "ALARM".into(),
    });
    if !back_to_ok {
        w.alarms.insert("etl-test-extract-errors".into(), AlarmState::Alarm);
    }
}

#[tokio::test(start_paused = true)]
async fn a_deployment_codedeploy_stopped_on_an_alarm_is_reported_as_that_alarm() {
    for back_to_ok in [false, true] {
        let base = package("base");
        let test = Env::new("test", &base.0);
        for f in FUNCTIONS {
            test.cloud.with(|w| w.behaviour.insert(format!("etl-test-{f}"), Behaviour::Hang));
        }
        // The eighth GetDeployment ends the second poll: every function is in its canary,
        // and that poll's alarm read (after it) saw no alarm in ALARM.
        test.cloud.after_nth("GetDeployment", None, 8, move |w| codedeploy_stops_extract_on_its_alarm(w, back_to_ok));
        let r = test.deploy(&MemoryCloud::default(), &package("bad")).await;
        assert!(matches!(r.verdict, Verdict::RolledBack), "{:?}", r.verdict);
        match &r.record.stop {
            Some(StopCause::Alarm { alarm, function, .. }) => {
                assert_eq!(
                    (alarm.as_str(), function.as_deref()),
                    ("etl-test-extract-errors", Some("etl-test-extract"))
                );
            }
            other => panic!("back to OK {back_to_ok}: stopped by the alarm, not {other:?}"),
        }
        let reason = r.record.reason.clone().unwrap_or_default();
        let said =
            if back_to_ok { "went to ALARM (now OK) and CodeDeploy stopped the deployment" } else { "is in ALARM" };
        assert!(reason.contains(&format!("alarm etl-test-extract-errors {said}")), "{reason}");
        assert_eq!(test.cloud.calls("DescribeAlarmHistory") > 0, back_to_ok, "history read only when needed");
        assert_eq!(test.versions(), all_on("test", "1"), "every function back, none split");
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_pre_traffic_hook_never_shifts_and_the_others_return() {
    let base = package("base");
    let dev = Env::new("dev", &base.0);
    let said = "event 0: etl-dev-transform:2 failed (Unhandled function error): TransformError: amount";
    dev.cloud.with(|w| {
        w.behaviour.insert("etl-dev-transform".into(), Behaviour::FailPreTraffic);
        w.pre_traffic_verdict =
            Some(HookVerdict { hook: "etl-dev-pre-traffic".into(), status: "Failed".into(), reason: said.into() });
    });
    let r = dev.deploy(&MemoryCloud::default(), &package("broken")).await;
    assert!(matches!(r.verdict, Verdict::RolledBack), "{:?}", r.verdict);
    match &r.record.stop {
        Some(StopCause::DeploymentFailed { function, status, hook, .. }) => {
            assert_eq!((function.as_str(), status.as_str()), ("etl-dev-transform", "Failed"));
            assert_eq!(
                hook.as_ref().map(|v| (v.hook.as_str(), v.reason.as_str())),
                Some(("etl-dev-pre-traffic", said))
            );
        }
        other => panic!("{other:?}"),
    }
    let reason = r.record.reason.clone().unwrap_or_default();
    assert!(reason.ends_with(&format!("; etl-dev-pre-traffic said: {said}")), "{reason}");
    assert_eq!(dev.cloud.calls("FilterLogEvents"), 1, "the pre-traffic hook's log, read once");
    assert_eq!(dev.versions(), all_on("dev", "1"));
}

#[tokio::test(start_paused = true)]
async fn a_hook_failure_read_with_the_alarm_its_invokes_tripped_is_reported_as_the_hook() {
    for logged in [true, false] {
        let base = package("base");
        let dev = Env::new("dev", &base.0);
        let said = "event 0: etl-dev-transform:2 failed (Unhandled function error): TransformError";
        dev.cloud.with(|w| {
            w.behaviour.insert("etl-dev-transform".into(), Behaviour::FailPreTraffic);
            w.pre_traffic_verdict = logged.then(|| HookVerdict {
                hook: "etl-dev-pre-traffic".into(),
                status: "Failed".into(),
                reason: said.into(),
            });
        });
        // transform's deployment fails at its second GetDeployment, in the second poll;
        // its fixture's error has tripped its errors alarm by that poll's alarm read
        // (which the memory cloud answers before the poll's GetDeployments).
        dev.cloud.after_nth("GetDeployment", None, 4, |w| {
            w.alarms.insert("etl-dev-transform-errors".into(), AlarmState::Alarm);
        });
        let r = dev.deploy(&MemoryCloud::default(), &package("broken")).await;
        assert!(matches!(r.verdict, Verdict::RolledBack), "{:?}", r.verdict);
        let reason = r.record.reason.clone().unwrap_or_default();
        match (&r.record.stop, logged) {
            (Some(StopCause::DeploymentFailed { hook: Some(v), .. }), true) => {
                assert_eq!(v.reason, said);
                assert!(reason.ends_with("; alarm etl-dev-transform-errors is in ALARM too"), "{reason}");
            }
            // Without the hook's word, the alarm is what can be told.
            (Some(StopCause::Alarm { alarm, .. }), false) => assert_eq!(alarm, "etl-dev-transform-errors"),
            (other, _) => panic!("logged {logged}: {other:?} ({reason})"),
        }
        assert_eq!(dev.versions(), all_on("dev", "1"));
    }
}

#[tokio::test(start_paused = true)]
async fn a_hook_failure_without_a_verdict_in_its_log_says_so() {
    let base = package("base");
    let dev = Env::new("dev", &base.0);
    dev.cloud.with(|w| w.behaviour.insert("etl-dev-transform".into(), Behaviour::FailPreTraffic));
    let r = dev.deploy(&MemoryCloud::default(), &package("broken")).await;
    assert!(matches!(&r.record.stop, Some(StopCause::DeploymentFailed { hook: None, .. })), "{:?}", r.record.stop);
    let reason = r.record.reason.clone().unwrap_or_default();
    assert!(reason.contains("no verdict of etl-dev-pre-traffic on d-"), "{reason}");
    assert_eq!(dev.versions(), all_on("dev", "1"));
}

#[tokio::test(start_paused = true)]
async fn a_second_deployer_is_refused_with_the_holders_name() {
    let base = package("base");
    let dev = Env::new("dev", &base.0);
    dev.cloud.with(|w| {
        w.lock = Some(LockInfo {
            holder: "ci@runner-7:4242 (GitHub run 99)".into(),
            since: rfc3339(now_ms()),
            expires_s: now_ms() / 1000 + 600,
        })
    });
    let incoming = Incoming {
        manifest: package("x").0,
        zips: Zips::Ready(package("x").1),
        kind: RecordKind::Deploy,
        source_environment: None,
    };
    let e = dev.engine().release(incoming, Some(&MemoryCloud::default())).await.expect_err("locked");
    let r = e.refusal().expect("refused");
    assert_eq!(r.kind, RefusalKind::LockHeld);
    assert!(r.problem.contains("ci@runner-7:4242 (GitHub run 99)") && r.problem.contains("since"), "{}", r.problem);
    assert_eq!(dev.cloud.calls("PublishVersion"), 0, "nothing changed");
}

#[tokio::test(start_paused = true)]
async fn a_release_left_mid_canary_is_shown_by_status_and_restored_by_rollback() {
    let base = package("base");
    let prod = Env::new("prod", &base.0);
    let store = MemoryCloud::default();
    // The first deployer's canary hangs, and it is killed: its future is dropped while
    // the aliases are split and its record says in progress.
    for f in FUNCTIONS {
        prod.cloud.with(|w| w.behaviour.insert(format!("etl-prod-{f}"), Behaviour::Hang));
    }
    let fixed = package("fixed");
    let first = prod.deploy(&store, &fixed);
    assert!(tokio::time::timeout(Duration::from_secs(60), first).await.is_err(), "still watching its canary");
    prod.cloud.with(|w| w.lock = None); // the lock expired with its holder

    let status = prod.engine().status().await.unwrap();
    assert_eq!(status.newest.as_ref().map(|r| r.status), Some(Status::InProgress));
    assert!(status.functions.iter().all(|f| !f.in_flight.is_empty() && f.alias.split().is_some()));
    let step = status.functions[0].deployment.as_ref().and_then(|d| d.current_step()).cloned();
    assert_eq!(step, Some(crate::cloud::LifecycleStep::AllowTraffic));
    assert!(status.functions.iter().all(|f| f.drift.is_none()), "a release under way is no drift");

    match prod.engine().rollback(None).await.unwrap() {
        RollbackOutcome::Restored(record) => assert_eq!(record.status, Status::Restored),
        other => panic!("{other:?}"),
    }
    assert_eq!(prod.versions(), all_on("prod", "1"));
}

#[tokio::test(start_paused = true)]
async fn rollback_history_and_prune() {
    let base = package("base");
    let dev = Env::new("dev", &base.0);
    let store = MemoryCloud::default();
    for marker in ["one", "two", "three"] {
        assert!(matches!(dev.deploy(&store, &package(marker)).await.verdict, Verdict::Succeeded));
        // Records are ordered by their start millisecond, which paused time does not move.
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(dev.versions(), all_on("dev", "4"));
    match dev.engine().rollback(None).await.unwrap() {
        RollbackOutcome::Returned { record, unrestored } => {
            assert!(unrestored.is_empty());
            assert_eq!(
                (record.kind, record.release_id.as_str()),
                (RecordKind::Rollback, package("two").0.release_id.as_str())
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(dev.versions(), all_on("dev", "3"));
    let history = dev.engine().history(10).await.unwrap();
    assert_eq!(history.len(), 4);
    assert_eq!((history[0].kind, history[0].status), (RecordKind::Rollback, Status::Succeeded));
    let pruned = dev.engine().prune(1).await.unwrap();
    // Versions 1-4: 4 is the newest, 3 is live; 1 and 2 go.
    assert_eq!(pruned.len(), 8, "{pruned:?}");
    assert!(pruned.iter().all(|p| p.ends_with(":1") || p.ends_with(":2")), "{pruned:?}");
}

#[tokio::test(start_paused = true)]
async fn an_alarm_that_fires_during_publish_stops_the_release_before_the_canary_completes() {
    let base = package("base");
    let test = Env::new("test", &base.0);
    test.cloud.after("PublishVersion", Some("etl-test-load"), |w| {
        w.alarms.insert("etl-test-load-errors".into(), AlarmState::Alarm);
    });
    let r = test.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::RolledBack), "{:?}", r.verdict);
    assert!(matches!(&r.record.stop, Some(StopCause::Alarm { alarm, .. }) if alarm == "etl-test-load-errors"));
    assert_eq!(test.versions(), all_on("test", "1"));
}

#[tokio::test(start_paused = true)]
async fn a_stop_that_fails_still_restores_every_alias() {
    let base = package("base");
    let test = Env::new("test", &base.0);
    for f in FUNCTIONS {
        test.cloud.with(|w| w.behaviour.insert(format!("etl-test-{f}"), Behaviour::Hang));
    }
    test.cloud.after_nth("GetDeployment", None, 8, |w| {
        w.alarms.insert("etl-test-compensate-errors".into(), AlarmState::Alarm);
    });
    test.cloud.fail("StopDeployment", None, 4, service_error("StopDeployment", "AccessDeniedException"));
    let r = test.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::RolledBack), "{:?}", r.verdict);
    assert_eq!(test.versions(), all_on("test", "1"), "pointed back by the deployer itself");
    assert!(test.events.saw("StopFailed"));
}

#[tokio::test(start_paused = true)]
async fn a_restore_rides_through_refused_alias_updates() {
    let base = package("base");
    let test = Env::new("test", &base.0);
    test.cloud.with(|w| w.behaviour.insert("etl-test-load".into(), Behaviour::Hang));
    test.cloud.after_nth("GetDeployment", None, 8, |w| {
        w.alarms.insert("etl-test-load-errors".into(), AlarmState::Alarm);
    });
    // StopDeployment does nothing, and UpdateAlias is refused five times.
    test.cloud.fail("StopDeployment", None, 4, service_error("StopDeployment", "ThrottlingException"));
    test.cloud.fail("UpdateAlias", Some("etl-test-load"), 5, service_error("UpdateAlias", "TooManyRequestsException"));
    let r = test.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::RolledBack), "{:?}", r.verdict);
    assert_eq!(test.versions(), all_on("test", "1"));
    assert!(test.events.saw("RestoreRetry"));
}

#[tokio::test(start_paused = true)]
async fn a_restore_that_cannot_finish_says_so_and_fails() {
    let base = package("base");
    let test = Env::new("test", &base.0);
    test.cloud.with(|w| w.behaviour.insert("etl-test-load".into(), Behaviour::Hang));
    test.cloud.after_nth("GetDeployment", None, 8, |w| {
        w.alarms.insert("etl-test-load-errors".into(), AlarmState::Alarm);
    });
    test.cloud.fail("StopDeployment", None, 4, service_error("StopDeployment", "ThrottlingException"));
    test.cloud.fail(
        "UpdateAlias",
        Some("etl-test-load"),
        u32::MAX,
        service_error("UpdateAlias", "AccessDeniedException"),
    );
    let r = test.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::Failed), "{:?}", r.verdict);
    assert_eq!(r.record.status, Status::Failed);
    assert_eq!(r.record.functions["load"].outcome, FunctionOutcome::Failed);
    assert!(test.events.saw("RestoreUnconfirmed"));
    assert_eq!(crate::engine::Outcome::Released(r).exit_code(), crate::error::exit::ERROR);
}

#[tokio::test(start_paused = true)]
async fn a_lost_lock_stops_and_restores_the_release() {
    let base = package("base");
    let test = Env::new("test", &base.0);
    for f in FUNCTIONS {
        test.cloud.with(|w| w.behaviour.insert(format!("etl-test-{f}"), Behaviour::Hang));
    }
    // The lock expired and another deployer took it while the canary ran.
    test.cloud.after_nth("GetDeployment", None, 4, |w| {
        w.lock = Some(LockInfo { holder: "other@host:9".into(), since: "t".into(), expires_s: u64::MAX / 2000 });
    });
    let r = test.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::RolledBack), "{:?}", r.verdict);
    assert_eq!(r.record.stop, Some(StopCause::LockLost));
    assert_eq!(test.versions(), all_on("test", "1"));
    assert_eq!(test.cloud.with(|w| w.lock.clone()).map(|l| l.holder), Some("other@host:9".into()), "not ours to free");
}

#[tokio::test(start_paused = true)]
async fn a_deployment_that_never_starts_is_stopped_after_the_start_timeout() {
    let base = package("base");
    let test = Env::new("test", &base.0);
    test.cloud.with(|w| w.behaviour.insert("etl-test-extract".into(), Behaviour::NeverStart));
    for f in ["load", "transform", "compensate"] {
        test.cloud.with(|w| w.behaviour.insert(format!("etl-test-{f}"), Behaviour::Hang));
    }
    let started = tokio::time::Instant::now();
    let r = test.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(
        matches!(&r.record.stop, Some(StopCause::NotStarted { function, .. }) if function == "etl-test-extract"),
        "{:?}",
        r.record.stop
    );
    assert!(started.elapsed() >= Duration::from_secs(600));
    assert_eq!(test.versions(), all_on("test", "1"));
}

#[tokio::test(start_paused = true)]
async fn a_deployment_that_cannot_be_created_stops_the_others() {
    let base = package("base");
    let test = Env::new("test", &base.0);
    test.cloud.fail(
        "CreateDeployment",
        Some("etl-test-transform"),
        1,
        service_error("CreateDeployment", "InvalidRoleException"),
    );
    let r = test.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::RolledBack), "{:?}", r.verdict);
    assert!(matches!(&r.record.stop, Some(StopCause::NotStarted { function, .. }) if function == "etl-test-transform"));
    assert_eq!(test.versions(), all_on("test", "1"));
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_stops_and_restores() {
    let base = package("base");
    let test = Env::new("test", &base.0);
    let interrupt = Interrupt::default();
    let raise = interrupt.clone();
    test.cloud.after("CreateDeployment", None, move |_| raise.raise());
    let incoming = Incoming {
        manifest: package("new").0,
        zips: Zips::Ready(package("new").1),
        kind: RecordKind::Deploy,
        source_environment: None,
    };
    let engine = test.engine().interruptible(interrupt);
    let r = engine.release(incoming, Some(&MemoryCloud::default())).await.unwrap();
    assert_eq!(r.record.stop, Some(StopCause::Interrupted));
    assert_eq!(test.versions(), all_on("test", "1"));
}

#[tokio::test(start_paused = true)]
async fn a_cloud_that_stops_answering_mid_watch_is_restored_not_abandoned() {
    let base = package("base");
    let test = Env::new("test", &base.0);
    // Once the deployments have started (the record's second write), every
    // GetDeployment fails: the SDK gave up on each.
    test.cloud.after_nth("PutItem", None, 2, |w| {
        w.add_fault("GetDeployment", None, u32::MAX, service_error("GetDeployment", "InternalFailure"));
    });
    let r = test.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(&r.record.stop, Some(StopCause::WatchFailed { .. })), "{:?}", r.record.stop);
    assert!(matches!(r.verdict, Verdict::RolledBack));
    assert_eq!(test.versions(), all_on("test", "1"));
    assert!(test.events.saw("PollFailed"));
}

#[tokio::test(start_paused = true)]
async fn a_failure_before_traffic_leaves_every_alias_where_it_was() {
    let base = package("base");
    let dev = Env::new("dev", &base.0);
    dev.cloud.fail("PublishVersion", Some("etl-dev-load"), 1, service_error("PublishVersion", "ServiceException"));
    let r = dev.deploy(&MemoryCloud::default(), &package("new")).await;
    match &r.verdict {
        Verdict::Errored(e) => assert!(e.to_string().contains("PublishVersion"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.record.status, Status::RolledBack);
    assert_eq!(dev.versions(), all_on("dev", "1"));
    assert_eq!(dev.cloud.calls("CreateDeployment"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_function_never_released_is_bootstrapped_onto_its_first_version() {
    let base = package("base");
    let dev = Env::new("dev", &base.0);
    dev.cloud.with(|w| {
        for f in w.functions.values_mut() {
            f.alias_version = UNRELEASED.into();
            f.versions.clear();
        }
    });
    let r = dev.deploy(&MemoryCloud::default(), &package("first")).await;
    assert!(matches!(r.verdict, Verdict::Succeeded), "{:?}", r.verdict);
    assert!(outcomes(&r).iter().all(|o| *o == FunctionOutcome::Bootstrapped));
    assert_eq!(dev.versions(), all_on("dev", "1"));
    assert_eq!(dev.live_code(), code_of("dev", &package("first").0));
    assert_eq!(dev.cloud.calls("CreateDeployment"), 0, "CodeDeploy cannot shift from $LATEST");
}

#[tokio::test(start_paused = true)]
async fn a_configuration_change_alone_is_published_and_shifted_like_code() {
    let base = package("base");
    let test = Env::new("test", &base.0);
    // Terraform raised load's memory on $LATEST; the live version still has 512.
    test.cloud.with(|w| {
        let f = w.functions.get_mut("etl-test-load").unwrap();
        f.latest.config = FunctionConfig { memory_mb: Some(1024), ..f.latest.config.clone() };
    });
    let plan = test.engine().preview(&base.0, None).await.unwrap();
    let load = plan.functions.iter().find(|p| p.function.artifact == "load").unwrap();
    assert_eq!(
        (load.change, load.configuration.clone()),
        (Change::Configuration, vec!["memory 512 -> 1024".to_owned()])
    );
    assert!(plan.functions.iter().filter(|p| p.function.artifact != "load").all(|p| p.change == Change::None));

    let r = test.deploy(&MemoryCloud::default(), &base).await;
    assert!(matches!(r.verdict, Verdict::Succeeded), "{:?}", r.verdict);
    let load = &r.record.functions["load"];
    assert_eq!(
        (load.outcome, load.change, load.version.as_deref()),
        (FunctionOutcome::Succeeded, Change::Configuration, Some("2"))
    );
    assert_eq!(test.cloud.calls("CreateDeployment"), 1, "through CodeDeploy, like code");
    assert_eq!(test.cloud.calls("UpdateFunctionCode"), 0, "the code did not change");
    let versions = test.versions();
    assert_eq!(versions["etl-test-load"], "2");
    assert_eq!(versions["etl-test-extract"], "1");
}

#[tokio::test(start_paused = true)]
async fn status_says_when_an_alias_was_moved_outside_the_deployer() {
    let base = package("base");
    let dev = Env::new("dev", &base.0);
    let store = MemoryCloud::default();
    assert!(matches!(dev.deploy(&store, &package("two")).await.verdict, Verdict::Succeeded));
    // Someone points load back at version 1 with the AWS CLI.
    dev.cloud.with(|w| w.functions.get_mut("etl-dev-load").unwrap().alias_version = "1".into());
    let status = dev.engine().status().await.unwrap();
    let drifted: Vec<&str> = status.drifted().map(|f| f.function.artifact.as_str()).collect();
    assert_eq!(drifted, vec!["load"]);
    let drift = status.functions.iter().find_map(|f| f.drift.clone()).unwrap();
    assert_eq!((drift.recorded.as_str(), drift.release_id.as_str()), ("2", package("two").0.release_id.as_str()));
}

#[tokio::test(start_paused = true)]
async fn a_split_alias_or_a_firing_alarm_or_a_foreign_deployment_refuses_before_any_change() {
    let base = package("base");
    let new = package("new");
    let store = MemoryCloud::default();

    let split = Env::new("test", &base.0);
    split.cloud.with(|w| w.functions.get_mut("etl-test-load").unwrap().alias_extra = Some(("1".into(), 0.2)));
    let firing = Env::new("test", &base.0);
    firing.cloud.with(|w| w.alarms.insert("etl-test-load-errors".into(), AlarmState::Alarm));
    let foreign = Env::new("test", &base.0);
    foreign.cloud.with(|w| w.behaviour.insert("etl-test-load".into(), Behaviour::Hang));
    let request = crate::cloud::DeploymentRequest {
        application: "etl-test".into(),
        group: "etl-test-load".into(),
        config: "c".into(),
        function: "etl-test-load".into(),
        alias: "live".into(),
        current_version: "1".into(),
        target_version: "1".into(),
        pre_traffic_hook: "p".into(),
        post_traffic_hook: "q".into(),
        description: "by hand".into(),
    };
    crate::cloud::Deployments::create(&foreign.cloud, &request).await.unwrap();

    for (env, kind) in [
        (split, RefusalKind::AliasSplit),
        (firing, RefusalKind::AlarmFiring),
        (foreign, RefusalKind::ForeignDeployment),
    ] {
        let incoming = Incoming {
            manifest: new.0.clone(),
            zips: Zips::Ready(new.1.clone()),
            kind: RecordKind::Deploy,
            source_environment: None,
        };
        let e = env.engine().release(incoming, Some(&store)).await.expect_err("refused");
        assert_eq!(e.refusal().map(|r| r.kind), Some(kind), "{e}");
        assert_eq!(env.cloud.calls("UpdateFunctionCode") + env.cloud.calls("PublishVersion"), 0, "{kind:?}");
        assert!(env.cloud.with(|w| w.lock.is_none()), "the lock is released");
    }
}

#[tokio::test(start_paused = true)]
async fn a_stored_artifact_that_differs_from_what_the_source_ran_is_refused() {
    let base = package("base");
    let good = package("good");
    let (dev, test) = (Env::new("dev", &base.0), Env::new("test", &base.0));
    let store = MemoryCloud::default();
    assert!(matches!(dev.deploy(&store, &good).await.verdict, Verdict::Succeeded));
    store.with(|w| w.store.insert(artifact_key(&good.0.release_id, "load.zip"), ZipBytes::from("tampered")));
    let e = test.promote(&dev, &store, now_ms()).await.expect_err("refused");
    assert_eq!(e.refusal().map(|r| r.kind), Some(RefusalKind::StoredArtifact), "{e}");
    assert_eq!(test.versions(), all_on("test", "1"));
}

#[tokio::test(start_paused = true)]
async fn bytes_that_cannot_run_on_the_function_are_refused_before_any_change() {
    let base = package("base");
    let prod = Env::new("prod", &base.0);
    let mut wrong_arch = package("new");
    let mut too_new = package("new");
    wrong_arch.0.artifacts.get_mut("load").unwrap().architecture = Some(crate::settings::Architecture::Arm64);
    too_new.0.artifacts.get_mut("post-traffic").unwrap().glibc = Some("2.38".into());
    prod.cloud.with(|w| {
        for f in w.functions.values_mut() {
            for code in std::iter::once(&mut f.latest).chain(f.versions.values_mut()) {
                code.config.architectures = vec!["x86_64".into()];
                code.config.runtime = Some("provided.al2023".into());
            }
        }
    });
    for (release, names) in [(wrong_arch, ["load", "arm64"]), (too_new, ["post-traffic", "glibc 2.38"])] {
        let incoming = Incoming {
            manifest: release.0.clone(),
            zips: Zips::Ready(release.1.clone()),
            kind: RecordKind::Deploy,
            source_environment: None,
        };
        let e = prod.engine().release(incoming, Some(&MemoryCloud::default())).await.expect_err("refused");
        assert_eq!(e.exit_code(), crate::error::exit::CONFIG, "{e}");
        let text = e.explained();
        assert!(names.iter().all(|n| text.contains(n)) && text.contains("fix:"), "{text}");
        assert_eq!(prod.cloud.calls("UpdateFunctionCode"), 0, "nothing changed");
        assert!(prod.cloud.with(|w| w.records.is_empty() && w.lock.is_none()), "nothing recorded, the lock freed");
    }
}

#[tokio::test(start_paused = true)]
async fn doctor_passes_a_ready_environment_and_names_each_problem_with_its_fix() {
    use crate::cloud::GroupView;
    use crate::engine::{CheckStatus, Outcome};
    let base = package("base");
    let prod = Env::new("prod", &base.0);
    let findings = prod.engine().doctor(Some(&base.0)).await;
    assert!(findings.iter().all(|f| f.status == CheckStatus::Pass), "{findings:#?}");
    assert!(findings.iter().any(|f| f.check == "permissions" && f.detail.contains("the deploy role")));
    assert!(findings.iter().filter(|f| f.check == "deployment group").count() == 4);
    assert_eq!(Outcome::Doctor(findings).exit_code(), crate::error::exit::OK);

    // A denied action, an alarm not wired into its group, a missing hook, bytes that
    // cannot run: each is one failure naming its fix, and the others still run.
    prod.cloud.with(|w| {
        w.denied.insert((prod.settings.deploy_role_arn.clone(), "codedeploy:StopDeployment".into()));
        w.group_views.insert(
            "etl-prod-load".into(),
            GroupView { alarms_enabled: true, rollback_enabled: true, ..GroupView::default() },
        );
        w.functions.remove("etl-prod-post-traffic");
    });
    let mut arm = base.0.clone();
    arm.artifacts.get_mut("extract").unwrap().architecture = Some(crate::settings::Architecture::Arm64);
    prod.cloud
        .with(|w| w.functions.get_mut("etl-prod-extract").unwrap().latest.config.architectures = vec!["x86_64".into()]);
    let findings = prod.engine().doctor(Some(&arm)).await;
    let failed: Vec<(&str, &str)> =
        findings.iter().filter(|f| f.status == CheckStatus::Fail).map(|f| (f.check, f.subject.as_str())).collect();
    assert_eq!(
        failed,
        vec![
            ("deployment group", "etl-prod/etl-prod-load"),
            ("artifact fit", "etl-prod-extract"),
            ("hook", "etl-prod-post-traffic"),
            ("permissions", prod.settings.deploy_role_arn.as_str()),
        ],
        "{findings:#?}"
    );
    let denied = findings.iter().find(|f| f.check == "permissions" && f.status == CheckStatus::Fail).unwrap();
    assert!(denied.detail.contains("codedeploy:StopDeployment on * (implicitDeny)"), "{}", denied.detail);
    assert!(findings.iter().filter(|f| f.status == CheckStatus::Fail).all(|f| f.fix.is_some()));
    assert_eq!(Outcome::Doctor(findings).exit_code(), crate::error::exit::DOCTOR);
    assert_eq!(prod.cloud.calls("UpdateFunctionCode") + prod.cloud.calls("UpdateAlias"), 0, "read only");
}

#[tokio::test(start_paused = true)]
async fn calls_applied_whose_answers_were_lost_are_reconciled_not_repeated() {
    let base = package("base");
    let test = Env::new("test", &base.0);
    // Each call takes effect and then fails as a dropped connection does.
    test.cloud.lose_reply("UpdateFunctionCode", Some("etl-test-pre-traffic"), 1);
    test.cloud.lose_reply("UpdateFunctionCode", Some("etl-test-load"), 1);
    test.cloud.lose_reply("PublishVersion", Some("etl-test-extract"), 1);
    test.cloud.lose_reply("CreateDeployment", Some("etl-test-transform"), 1);
    let r = test.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::Succeeded), "{:?} {:?}", r.verdict, r.record.reason);
    assert_eq!(test.versions(), all_on("test", "2"));
    assert_eq!(test.live_code(), code_of("test", &package("new").0));
    let (deployments, versions) = test.cloud.with(|w| {
        let per_function: Vec<usize> =
            FUNCTIONS.iter().map(|f| w.functions[&format!("etl-test-{f}")].versions.len()).collect();
        (w.deployments.len(), per_function)
    });
    assert_eq!(deployments, 4, "one deployment per function, none started twice");
    assert_eq!(versions, vec![2, 2, 2, 2], "one version published per function");
}

#[tokio::test(start_paused = true)]
async fn a_bootstrap_whose_alias_update_answer_was_lost_still_succeeds() {
    let base = package("base");
    let dev = Env::new("dev", &base.0);
    dev.cloud.with(|w| {
        for f in w.functions.values_mut() {
            f.alias_version = UNRELEASED.into();
            f.versions.clear();
        }
    });
    dev.cloud.lose_reply("UpdateAlias", Some("etl-dev-load"), 1);
    let r = dev.deploy(&MemoryCloud::default(), &package("first")).await;
    assert!(matches!(r.verdict, Verdict::Succeeded), "{:?}", r.verdict);
    assert_eq!(dev.versions(), all_on("dev", "1"));
}

/// Settings of `env` with an evidence rule and the workflow named.
fn with_evidence(env: &Env, min: u32, required: bool, traffic: crate::settings::Traffic) -> Env {
    let mut settings = env.settings.clone();
    settings.evidence = crate::settings::Evidence { min_invocations: min, required, traffic, replay_days: 2 };
    settings.workflow = Some(crate::settings::Workflow {
        state_machine: format!("etl-{}-etl", settings.environment),
        raw_bucket: format!("etl-{}-raw", settings.environment),
        curated_bucket: Some(format!("etl-{}-curated", settings.environment)),
        quarantine_bucket: Some(format!("etl-{}-quarantine", settings.environment)),
    });
    for f in &mut settings.functions {
        f.min_invocations = if f.artifact == "compensate" { 0 } else { min };
    }
    Env { settings, cloud: env.cloud.clone(), events: Arc::default() }
}

fn slow_canaries(env: &Env, polls: u32) {
    for f in FUNCTIONS {
        let name = format!("etl-{}-{f}", env.settings.environment);
        env.cloud.with(|w| w.behaviour.insert(name, Behaviour::SlowCanary(polls)));
    }
}

#[tokio::test(start_paused = true)]
async fn a_required_step_without_evidence_stops_and_rolls_back() {
    let base = package("base");
    let prod = with_evidence(&Env::new("prod", &base.0), 5, true, crate::settings::Traffic::None);
    slow_canaries(&prod, 3);
    let r = prod.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::RolledBack), "{:?}", r.verdict);
    match &r.record.stop {
        Some(StopCause::NoEvidence { invocations, min_invocations, step_percent, .. }) => {
            assert_eq!((*invocations, *min_invocations, *step_percent), (0.0, 5, 10.0));
        }
        other => panic!("stopped for no evidence, not {other:?}"),
    }
    assert!(r.record.reason.as_deref().is_some_and(|m| m.starts_with("no evidence")), "{:?}", r.record.reason);
    assert_eq!(prod.versions(), all_on("prod", "1"));
    assert!(prod.cloud.with(|w| w.routing.is_none()), "the routing record is gone");
    let weights: Vec<u32> = prod.cloud.with(|w| w.routing_log.iter().map(|r| r.weight_per_mille).collect());
    assert_eq!(weights.first(), Some(&0), "executions start on the old release");
    assert_eq!(weights.last(), Some(&0), "and go back to it before the aliases do: {weights:?}");
}

#[tokio::test(start_paused = true)]
async fn replayed_dry_runs_bring_the_evidence_and_the_release_passes() {
    let base = package("base");
    let prod = with_evidence(&Env::new("prod", &base.0), 5, true, crate::settings::Traffic::Replay);
    prod.cloud.with(|w| w.raw_dates = vec!["2026-11-20".into(), "2026-11-21".into(), "2026-11-22".into()]);
    slow_canaries(&prod, 4);
    let r = prod.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::Succeeded), "{:?} {:?}", r.verdict, r.record.reason);
    let judged: Vec<(&str, EvidenceVerdict)> =
        r.record.evidence.iter().map(|e| (e.artifact.as_str(), e.verdict)).collect();
    assert_eq!(judged.len(), 4, "one canary step per function: {judged:?}");
    assert!(judged.iter().all(|(a, v)| if *a == "compensate" {
        *v == EvidenceVerdict::Exempt
    } else {
        *v == EvidenceVerdict::Passed
    }));
    let extract = r.record.evidence.iter().find(|e| e.artifact == "extract").unwrap();
    assert!(extract.new.invocations >= 5.0 && extract.replay_executions >= 5, "{extract:?}");
    assert_eq!((extract.step_percent, extract.replay_source.as_deref()), (10.0, Some("replay")));
    // The dry runs ran the newest two partitions, each input pinned once to the new
    // release and once to the old (the judge's pairs).
    let inputs: Vec<(String, String)> =
        prod.cloud.with(|w| w.executions.iter().map(|(arn, (i, _))| (arn.clone(), i.clone())).collect());
    for (arn, input) in &inputs {
        let pin = if arn.ends_with("-old") { "\"pin\":\"old\"" } else { "\"pin\":\"new\"" };
        assert!(input.contains(pin) && input.contains("\"dry_run\":true"), "{arn}: {input}");
        let twin = if let Some(new) = arn.strip_suffix("-old") { new.to_owned() } else { format!("{arn}-old") };
        let twin_input = inputs.iter().find(|(a, _)| *a == twin).map(|(_, i)| i.replace("\"old\"", "\"new\""));
        assert_eq!(twin_input, Some(input.replace("\"old\"", "\"new\"")), "{arn}'s pair ran the same input");
    }
    assert!(inputs.iter().all(|(_, i)| !i.contains("2026-11-20")), "only the newest replay_days partitions");
    let paired = extract.judgment.as_ref().and_then(|j| j.paired.clone()).expect("extract's pairs");
    assert!(paired.pairs >= 1 && paired.outputs_compared == 0, "not declared deterministic: {paired:?}");
    let weights: Vec<u32> = prod.cloud.with(|w| w.routing_log.iter().map(|r| r.weight_per_mille).collect());
    assert!(weights.contains(&100), "the routing followed the canary's weight: {weights:?}");
    assert!(prod.cloud.with(|w| w.routing.is_none()), "removed once every alias is on the new release");
    assert_eq!(prod.versions(), all_on("prod", "2"));
}

#[tokio::test(start_paused = true)]
async fn a_step_without_evidence_where_it_is_not_required_passes_with_a_warning() {
    let base = package("base");
    let dev = with_evidence(&Env::new("test", &base.0), 5, false, crate::settings::Traffic::None);
    slow_canaries(&dev, 2);
    let r = dev.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::Succeeded), "{:?}", r.verdict);
    assert!(r
        .record
        .evidence
        .iter()
        .filter(|e| e.artifact != "compensate")
        .all(|e| e.verdict == EvidenceVerdict::Warned));
    assert!(dev.events.saw("StepJudged"));
}

#[tokio::test(start_paused = true)]
async fn synthetic_traffic_writes_one_generated_partition_and_replays_it() {
    let base = package("base");
    let test = with_evidence(&Env::new("test", &base.0), 3, true, crate::settings::Traffic::Synthetic);
    slow_canaries(&test, 4);
    let r = test.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::Succeeded), "{:?} {:?}", r.verdict, r.record.reason);
    let written = test.cloud.with(|w| w.raw_objects.clone());
    let partition = written.get("dt=2000-01-01/synthetic.jsonl").expect("the synthetic partition");
    assert!(partition.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count() >= 100, "generated records");
    let inputs: Vec<String> = test.cloud.with(|w| w.executions.values().map(|(i, _)| i.clone()).collect());
    assert!(!inputs.is_empty() && inputs.iter().all(|i| i.contains("2000-01-01")), "{inputs:?}");
    assert!(r.record.evidence.iter().any(|e| e.replay_source.as_deref() == Some("synthetic")));
}

#[tokio::test(start_paused = true)]
async fn a_replay_with_nothing_recorded_yet_replays_synthetic_records() {
    let base = package("base");
    let prod = with_evidence(&Env::new("prod", &base.0), 3, true, crate::settings::Traffic::Replay);
    slow_canaries(&prod, 4);
    let r = prod.deploy(&MemoryCloud::default(), &package("new")).await;
    assert!(matches!(r.verdict, Verdict::Succeeded), "{:?} {:?}", r.verdict, r.record.reason);
    assert!(prod.events.saw("ReplayWithoutInput"), "the fallback is told");
    assert!(prod.cloud.with(|w| w.raw_objects.contains_key("dt=2000-01-01/synthetic.jsonl")));
    let extract = r.record.evidence.iter().find(|e| e.artifact == "extract").unwrap();
    assert_eq!((extract.verdict, extract.replay_source.as_deref()), (EvidenceVerdict::Passed, Some("synthetic")));
}

mod judge;
mod shadow;
