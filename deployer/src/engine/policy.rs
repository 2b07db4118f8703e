//! The rules, as pure functions over the ledger's records: what may be promoted or
//! rolled back to, which versions may be pruned, whether an alias drifted. Each "no"
//! is a typed [`Refusal`].

use std::collections::BTreeSet;
use std::time::Duration;

use crate::cloud::AliasState;
use crate::engine::outcome::Drift;
use crate::error::{Refusal, RefusalKind};
use crate::ledger::{rfc3339, RecordKind, ReleaseRecord, Status};
use crate::settings::{format_duration, Settings};

/// `deploy` is for the first environment of the chain; the others take promotions.
pub fn deploy_allowed(settings: &Settings) -> Result<(), Refusal> {
    match &settings.promotes_from {
        None => Ok(()),
        Some(from) => Err(Refusal::new(
            RefusalKind::PromotionOnly,
            format!(
                "{} takes releases by promotion from {from} ({} has promotes_from: {from})",
                settings.environment,
                settings.file.display()
            ),
            format!("`deployer promote --to {}`", settings.environment),
        )),
    }
}

/// The environment `target` promotes from (`from` must agree with the chain).
pub fn promotion_source(target: &Settings, from: Option<&str>) -> Result<String, Refusal> {
    match (from, &target.promotes_from) {
        (Some(from), Some(chain)) if from != chain => Err(Refusal::new(
            RefusalKind::NotOnChain,
            format!("{} promotes from {chain}, not {from} ({})", target.environment, target.file.display()),
            "promote along the chain, or change promotes_from",
        )),
        (_, Some(chain)) => Ok(chain.clone()),
        (_, None) => Err(Refusal::new(
            RefusalKind::NoPromotionSource,
            format!(
                "{} does not promote from any environment ({} has no promotes_from)",
                target.environment,
                target.file.display()
            ),
            format!("use `deployer deploy --env {}`", target.environment),
        )),
    }
}

/// The newest release of `source` if it may be promoted at `now` (ms), else why not.
pub fn promotable<'r>(
    records: &'r [ReleaseRecord],
    source: &str,
    min_soak: Duration,
    now: u64,
) -> Result<&'r ReleaseRecord, Refusal> {
    let newest = records.first().ok_or_else(|| {
        Refusal::new(
            RefusalKind::NothingToPromote,
            format!("nothing to promote: {source} has no releases"),
            format!("deploy to {source} first"),
        )
    })?;
    if newest.kind == RecordKind::Rollback {
        return Err(Refusal::new(
            RefusalKind::SourceRolledBack,
            format!(
                "the last change in {source} was a rollback to {} ({}): promote only what {source} is meant to run",
                newest.release_id, newest.started_at
            ),
            format!("deploy a fixed release to {source} first"),
        ));
    }
    if newest.status != Status::Succeeded {
        return Err(Refusal::new(
            RefusalKind::SourceFailed,
            format!(
                "the last release in {source}, {} ({}), did not succeed: {}",
                newest.release_id,
                newest.status.as_str(),
                newest.reason.as_deref().unwrap_or("no reason recorded")
            ),
            format!("fix it and deploy to {source} again; nothing is promoted"),
        ));
    }
    // Soak counts from when this release first succeeded there.
    let since = records
        .iter()
        .take_while(|r| r.release_id == newest.release_id && r.status == Status::Succeeded)
        .filter_map(ReleaseRecord::finished_ms)
        .min()
        .unwrap_or(now);
    let soaked = Duration::from_millis(now.saturating_sub(since));
    if soaked < min_soak {
        let ready = since + u64::try_from(min_soak.as_millis()).unwrap_or(u64::MAX);
        return Err(Refusal {
            kind: RefusalKind::NotSoaked,
            problem: format!(
                "release {} has soaked in {source} for {} of the {} required",
                newest.release_id,
                format_duration(soaked),
                format_duration(min_soak)
            ),
            fix: format!("promote again after {}", rfc3339(ready)),
            retry_after_ms: Some(ready),
        });
    }
    Ok(newest)
}

/// The release `rollback` returns to: `to` if given (it must have succeeded here),
/// else the newest successful release older than the current one that was not itself
/// rolled back from.
pub fn rollback_target<'r>(records: &'r [ReleaseRecord], to: Option<&str>) -> Result<&'r ReleaseRecord, Refusal> {
    if let Some(id) = to {
        return records.iter().find(|r| r.status == Status::Succeeded && r.release_id == id).ok_or_else(|| {
            Refusal::new(
                RefusalKind::NoRollbackTarget,
                format!("release {id} never succeeded in this environment"),
                "pick one from `deployer history` with status succeeded",
            )
        });
    }
    let current = records.iter().find(|r| r.status == Status::Succeeded).map(|r| r.release_id.as_str());
    let abandoned: BTreeSet<&str> = records.iter().filter_map(|r| r.rolled_back_from.as_deref()).collect();
    records
        .iter()
        .filter(|r| r.status == Status::Succeeded && r.kind != RecordKind::Rollback)
        .find(|r| Some(r.release_id.as_str()) != current && !abandoned.contains(r.release_id.as_str()))
        .ok_or_else(|| {
            Refusal::new(
                RefusalKind::NoRollbackTarget,
                "nothing to roll back to: there is no earlier successful release here",
                "name one with --to RELEASE (see `deployer history`)",
            )
        })
}

/// Versions of one function that must not be deleted: the alias's, the last
/// successful release's, and any unfinished release's.
pub fn protected_versions(records: &[ReleaseRecord], artifact: &str, alias: &AliasState) -> BTreeSet<u64> {
    let mut protected: BTreeSet<u64> = BTreeSet::new();
    let mut add = |v: &str| {
        if let Ok(n) = v.parse() {
            protected.insert(n);
        }
    };
    add(&alias.version);
    if let Some((v, _)) = &alias.additional {
        add(v);
    }
    if let Some(last) = records.iter().find(|r| r.status == Status::Succeeded) {
        if let Some(f) = last.functions.get(artifact) {
            add(f.version.as_deref().unwrap_or(&f.previous_version));
        }
    }
    for r in records.iter().filter(|r| r.status == Status::InProgress) {
        if let Some(f) = r.functions.get(artifact) {
            add(&f.previous_version);
            if let Some(v) = &f.version {
                add(v);
            }
        }
    }
    protected
}

/// The versions to delete: all but the newest `keep` and the protected ones.
pub fn prunable(versions: &[u64], keep: usize, protected: &BTreeSet<u64>) -> Vec<u64> {
    let mut sorted = versions.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.into_iter().skip(keep).filter(|v| !protected.contains(v)).rev().collect()
}

/// Whether `alias` sits on another version than the newest finished record left
/// `artifact` on: someone moved it outside the deployer. A split alias, an unfinished
/// newest record, or a record that does not know the function says nothing.
pub fn drift(records: &[ReleaseRecord], artifact: &str, alias: &AliasState) -> Option<Drift> {
    let newest = records.first()?;
    if newest.status == Status::InProgress || alias.split().is_some() {
        return None;
    }
    let recorded = records.iter().find_map(|r| r.resulting_version(artifact).map(|v| (r, v)))?;
    (recorded.1 != alias.version).then(|| Drift {
        recorded: recorded.1.to_owned(),
        record_id: recorded.0.record_id.clone(),
        release_id: recorded.0.release_id.clone(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::ledger::{Change, FunctionOutcome, FunctionRecord, RECORD_SCHEMA};

    pub(crate) fn record(id: &str, release: &str, kind: RecordKind, status: Status, finished: u64) -> ReleaseRecord {
        ReleaseRecord {
            schema: RECORD_SCHEMA,
            record_id: id.into(),
            release_id: release.into(),
            git_commit: "c".into(),
            environment: "test".into(),
            kind,
            source_environment: None,
            status,
            holder: "h".into(),
            started_at: rfc3339(finished - 10),
            started_ms: finished - 10,
            finished_at: None,
            duration_ms: Some(10),
            reason: None,
            rolled_back_from: None,
            deployment_config: None,
            stop: None,
            evidence: Vec::new(),
            shadow: None,
            functions: BTreeMap::new(),
            hooks: BTreeMap::new(),
        }
    }

    fn function(previous: &str, version: &str) -> FunctionRecord {
        FunctionRecord {
            function_name: "etl-load".into(),
            previous_version: previous.into(),
            version: Some(version.into()),
            code_sha256: "x".into(),
            changed: true,
            change: Change::Code,
            configuration: Vec::new(),
            deployment_id: None,
            outcome: FunctionOutcome::Succeeded,
            duration_ms: None,
        }
    }

    fn alias(version: &str, extra: Option<(&str, f64)>) -> AliasState {
        AliasState { version: version.into(), additional: extra.map(|(v, w)| (v.into(), w)), revision_id: None }
    }

    #[test]
    fn prune_keeps_the_newest_and_every_version_in_use() {
        let protected: BTreeSet<u64> = [2, 9].into();
        assert_eq!(prunable(&[1, 2, 3, 4, 5, 6, 7, 8, 9], 3, &protected), vec![1, 3, 4, 5, 6]);
        assert_eq!(prunable(&[1, 2], 5, &protected), Vec::<u64>::new());
        assert_eq!(prunable(&[3, 1, 2], 0, &BTreeSet::new()), vec![1, 2, 3]);
    }

    #[test]
    fn protected_versions_cover_aliases_last_success_and_unfinished() {
        let mut ok = record("2", "r-b", RecordKind::Deploy, Status::Succeeded, 200);
        ok.functions.insert("load".into(), function("3", "4"));
        let mut running = ok.clone();
        running.status = Status::InProgress;
        running.functions.get_mut("load").unwrap().version = Some("7".into());
        assert_eq!(protected_versions(&[running, ok], "load", &alias("5", Some(("6", 0.1)))), [3, 4, 5, 6, 7].into());
    }

    #[test]
    fn rollback_goes_to_the_previous_success_and_not_back_again() {
        let r1 = record("1", "r-1", RecordKind::Deploy, Status::Succeeded, 100);
        let bad = record("2", "r-bad", RecordKind::Deploy, Status::RolledBack, 200);
        let r2 = record("3", "r-2", RecordKind::Promote, Status::Succeeded, 300);
        let records = vec![r2.clone(), bad.clone(), r1.clone()];
        assert_eq!(rollback_target(&records, None).unwrap().release_id, "r-1");
        let mut back = record("4", "r-1", RecordKind::Rollback, Status::Succeeded, 400);
        back.rolled_back_from = Some("r-2".into());
        let after = vec![back, r2, bad, r1];
        let e = rollback_target(&after, None).expect_err("r-1 is current and r-2 was abandoned");
        assert!(e.problem.contains("nothing to roll back to"), "{e:?}");
        assert_eq!(e.kind, RefusalKind::NoRollbackTarget);
        assert_eq!(rollback_target(&after, Some("r-2")).unwrap().release_id, "r-2");
        assert!(rollback_target(&after, Some("r-bad")).is_err(), "a failed release is never a target");
    }

    #[test]
    fn promotion_needs_a_successful_soaked_release() {
        let min = Duration::from_secs(60);
        let e = promotable(&[], "test", min, 1_000_000).unwrap_err();
        assert!(e.problem.contains("nothing to promote: test has no releases"));
        assert_eq!(e.kind, RefusalKind::NothingToPromote);
        let ok = record("2", "r-2", RecordKind::Deploy, Status::Succeeded, 100_000);
        let again = record("3", "r-2", RecordKind::Deploy, Status::Succeeded, 150_000);
        assert_eq!(
            promotable(&[again.clone(), ok.clone()], "test", min, 160_000).unwrap().release_id,
            "r-2",
            "soak counts from the first success"
        );
        let e = promotable(&[again, ok.clone()], "test", min, 130_000).unwrap_err();
        assert!(e.problem.contains("soaked in test for 30.0s of the 60.0s"), "{e:?}");
        assert_eq!(e.kind, RefusalKind::NotSoaked);
        assert_eq!(e.retry_after_ms, Some(160_000), "the moment the soak is complete");
        assert!(e.fix.contains(&rfc3339(160_000)), "{}", e.fix);
        let bad = record("4", "r-3", RecordKind::Deploy, Status::RolledBack, 200_000);
        let e = promotable(&[bad, ok.clone()], "test", Duration::ZERO, 300_000).unwrap_err();
        assert!(e.problem.contains("did not succeed") && e.problem.contains("rolled_back"), "{e:?}");
        assert_eq!(e.kind, RefusalKind::SourceFailed);
        let back = record("5", "r-1", RecordKind::Rollback, Status::Succeeded, 200_000);
        let e = promotable(&[back, ok], "test", Duration::ZERO, 300_000).unwrap_err();
        assert!(e.problem.contains("rollback") && e.kind == RefusalKind::SourceRolledBack);
    }

    #[test]
    fn drift_is_an_alias_moved_away_from_what_the_ledger_recorded() {
        let mut ok = record("2", "r-2", RecordKind::Deploy, Status::Succeeded, 200);
        ok.functions.insert("load".into(), function("3", "4"));
        let mut rolled = record("3", "r-3", RecordKind::Deploy, Status::RolledBack, 300);
        rolled.functions.insert("load".into(), function("4", "5"));
        assert_eq!(drift(&[ok.clone()], "load", &alias("4", None)), None);
        let d = drift(&[ok.clone()], "load", &alias("6", None)).expect("moved by hand");
        assert_eq!((d.recorded.as_str(), d.release_id.as_str()), ("4", "r-2"));
        assert_eq!(drift(&[rolled.clone(), ok.clone()], "load", &alias("4", None)), None, "rolled back to 4");
        assert!(drift(&[rolled, ok.clone()], "load", &alias("5", None)).is_some(), "5 was rolled back");
        assert_eq!(drift(&[ok.clone()], "load", &alias("4", Some(("6", 0.1)))), None, "split: a deployment's");
        let mut running = ok.clone();
        running.status = Status::InProgress;
        assert_eq!(drift(&[running, ok], "load", &alias("9", None)), None, "a release is under way");
        assert_eq!(drift(&[], "load", &alias("9", None)), None, "nothing recorded");
    }
}
