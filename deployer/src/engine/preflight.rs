//! Before any change: the environment has what the release needs, each function's
//! change is known, and nothing in the environment says "not now".

use super::outcome::PlannedFunction;
use super::{Engine, UNRELEASED};
use crate::cloud::{AlarmState, Cloud, FunctionConfig, FunctionState};
use crate::error::{DeployError, RefusalKind, Result};
use crate::ledger::Change;
use crate::release::elf::GlibcVersion;
use crate::release::{Artifact, Manifest, HOOKS, MANIFEST};
use crate::settings::ALIAS;

impl<C: Cloud> Engine<'_, C> {
    /// The release names every function and hook of the environment, and the
    /// environment's deployment config, groups and alarms exist. Changes nothing.
    pub(crate) async fn check_infrastructure(&self, manifest: &Manifest) -> Result<()> {
        let s = self.settings;
        for f in &s.functions {
            if !manifest.artifacts.contains_key(&f.artifact) {
                return Err(DeployError::artifact(
                    std::path::Path::new(MANIFEST),
                    format!(
                        "release {} has no artifact {:?}, which {} lists",
                        manifest.release_id,
                        f.artifact,
                        s.file.display()
                    ),
                    "package every function (`deployer package`), or remove it from the settings",
                ));
            }
        }
        for hook in HOOKS {
            if !manifest.artifacts.contains_key(hook) {
                return Err(DeployError::artifact(
                    std::path::Path::new(MANIFEST),
                    format!("release {} has no hook artifact {hook:?}", manifest.release_id),
                    "package the hooks too (`deployer package`)",
                ));
            }
        }
        // The hooks run on Lambda too: their bytes must fit their functions.
        let hooks = [("pre-traffic", s.hooks.pre_traffic.clone()), ("post-traffic", s.hooks.post_traffic.clone())];
        let hook_configs =
            self.all(hooks.clone(), |cloud, (_, name)| async move { cloud.configuration(&name, None).await }).await?;
        for ((artifact, name), state) in hooks.iter().zip(&hook_configs) {
            fits(artifact, &manifest.artifacts[*artifact], name, &state.config)?;
        }
        self.cloud.check_config(&s.deployment_config).await?;
        let groups = s.functions.iter().map(|f| (s.application.clone(), f.deployment_group.clone()));
        self.all(groups, |cloud, (app, group)| async move { cloud.check_group(&app, &group).await }).await?;
        self.cloud.describe(&s.watched_alarms()).await?;
        Ok(())
    }

    /// A deployment someone started outside the deployer would race this release.
    pub(crate) async fn refuse_foreign_deployments(&self) -> Result<()> {
        let s = self.settings;
        let groups = s.functions.iter().map(|f| (s.application.clone(), f.deployment_group.clone()));
        let busy = self.all(groups, |cloud, (app, group)| async move { cloud.in_flight(&app, &group).await }).await?;
        for (f, ids) in s.functions.iter().zip(busy) {
            if let Some(id) = ids.first() {
                return Err(DeployError::refused(
                    RefusalKind::ForeignDeployment,
                    format!(
                        "deployment group {} already has deployment {id} in flight, not started by this deployer",
                        f.deployment_group
                    ),
                    "wait for it or stop it, then run again",
                ));
            }
        }
        Ok(())
    }

    /// An alarm already in ALARM would stop any deployment at once.
    pub(crate) async fn refuse_firing_alarms(&self) -> Result<()> {
        let states = self.cloud.describe(&self.settings.watched_alarms()).await?;
        if let Some(a) = states.iter().find(|a| a.state == AlarmState::Alarm) {
            return Err(DeployError::refused(
                RefusalKind::AlarmFiring,
                format!(
                    "alarm {} is already in ALARM ({}), so any deployment would stop at once: nothing was changed",
                    a.name, a.reason
                ),
                "resolve what the alarm reports first",
            ));
        }
        Ok(())
    }

    /// Reads each function's alias, its version and `$LATEST`, and decides what
    /// changes: new code, or only a new configuration. Refuses a split alias.
    pub(crate) async fn plan(&self, manifest: &Manifest) -> Result<Vec<PlannedFunction>> {
        let s = self.settings;
        let names = s.functions.iter().map(|f| f.function_name.clone());
        let states = self
            .all(names, |cloud, name| async move {
                let alias = cloud.alias(&name, ALIAS).await?;
                let live = cloud.configuration(&name, Some(&alias.version)).await?;
                let latest =
                    if alias.version == UNRELEASED { live.clone() } else { cloud.configuration(&name, None).await? };
                Ok((alias, live, latest))
            })
            .await?;
        let mut planned = Vec::new();
        for (f, (alias, live, latest)) in s.functions.iter().zip(states) {
            if let Some((extra, weight)) = alias.split() {
                return Err(DeployError::refused(
                    RefusalKind::AliasSplit,
                    format!(
                        "{}:{ALIAS} is split between versions {} and {extra} ({:.0}% on {extra}): a deployment is in flight or was interrupted",
                        f.function_name,
                        alias.version,
                        weight * 100.0
                    ),
                    format!(
                        "`deployer status --env {}` to see it, `deployer rollback --env {}` to restore",
                        s.environment, s.environment
                    ),
                ));
            }
            let artifact = &manifest.artifacts[&f.artifact];
            fits(&f.artifact, artifact, &f.function_name, &latest.config)?;
            let bootstrap = alias.version == UNRELEASED;
            let (change, configuration) = change_of(&live, &latest, &artifact.code_sha256, bootstrap);
            planned.push(PlannedFunction {
                function: f.clone(),
                previous_version: alias.version,
                code_sha256: artifact.code_sha256.clone(),
                change,
                configuration,
                bootstrap,
            });
        }
        Ok(planned)
    }
}

/// Whether an artifact's bytes can run as `function`: its ELF machine is the
/// function's architecture, and it needs no newer glibc than the runtime has. (An
/// artifact that records neither, a script or a schema 1 manifest, is not judged.)
fn fits(name: &str, artifact: &Artifact, function: &str, config: &FunctionConfig) -> Result<()> {
    let path = std::path::Path::new(&artifact.file);
    if let Some(arch) = artifact.architecture {
        if !config.architectures.is_empty() && !config.architectures.iter().any(|a| a == arch.as_str()) {
            let runs_on = config.architectures.join(", ");
            return Err(DeployError::artifact(
                path,
                format!(
                    "artifact {name} is built for {arch} (its ELF machine), but function {function} runs on {runs_on}: Lambda could not execute it"
                ),
                format!(
                    "package for {runs_on} (`deployer package --release --architecture {runs_on}`), or set `architecture: {arch}` in deployer.yaml and apply Terraform"
                ),
            ));
        }
    }
    let runtime = config.runtime.as_deref().unwrap_or_default();
    let needed = artifact.glibc.as_deref().and_then(GlibcVersion::parse);
    if let (Some(needed), Some(has)) = (needed, GlibcVersion::of_runtime(runtime)) {
        if needed > has {
            return Err(DeployError::artifact(
                path,
                format!(
                    "artifact {name} needs glibc {needed}, but function {function}'s runtime {runtime} has glibc {has}: it would fail with `GLIBC_{needed} not found`"
                ),
                format!(
                    "build it for glibc {has} with `deployer package --release` (cargo-lambda links with zig against that glibc), or for musl"
                ),
            ));
        }
    }
    Ok(())
}

/// What a function's release changes, from the live version, `$LATEST` and the code
/// to ship. Terraform changes configuration on `$LATEST` only; a difference from the
/// live version goes out through the environment's strategy like code.
fn change_of(
    live: &FunctionState,
    latest: &FunctionState,
    code_sha256: &str,
    bootstrap: bool,
) -> (Change, Vec<String>) {
    let configuration = live.config.differences(&latest.config);
    if bootstrap || live.code_sha256 != code_sha256 {
        (Change::Code, configuration)
    } else if !configuration.is_empty() {
        (Change::Configuration, configuration)
    } else {
        (Change::None, configuration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::{FunctionConfig, UpdateState};

    fn state(code: &str, memory: i32) -> FunctionState {
        FunctionState {
            code_sha256: code.into(),
            revision_id: None,
            version: "1".into(),
            update: UpdateState::Successful,
            update_reason: None,
            config: FunctionConfig { memory_mb: Some(memory), ..FunctionConfig::default() },
        }
    }

    #[test]
    fn new_code_new_configuration_or_nothing() {
        assert_eq!(change_of(&state("a", 512), &state("a", 512), "a", false), (Change::None, vec![]));
        assert_eq!(change_of(&state("a", 512), &state("a", 512), "b", false).0, Change::Code);
        assert_eq!(
            change_of(&state("a", 512), &state("a", 1024), "a", false),
            (Change::Configuration, vec!["memory 512 -> 1024".to_owned()])
        );
        assert_eq!(change_of(&state("a", 512), &state("a", 1024), "b", false).0, Change::Code, "code wins");
        assert_eq!(change_of(&state("a", 512), &state("a", 512), "a", true).0, Change::Code, "a bootstrap ships");
    }
}
