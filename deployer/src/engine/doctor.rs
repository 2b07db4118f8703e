//! `doctor`: what an operator runs before the first release into an account. Read
//! only. Each check becomes a finding with its fix; nothing stops at the first problem.
//! (The role and the account are checked by the connection, before this runs.)

use std::collections::BTreeMap;

use super::outcome::Finding;
use super::{preflight, Engine, UNRELEASED};
use crate::cloud::iam::{Scope, DEPLOY_ROLE, HOOKS};
use crate::cloud::{AlarmState, Cloud};
use crate::release::Manifest;
use crate::review::names::Workload;
use crate::settings::ALIAS;

/// The rollback events a deployment group must have for one verdict per release.
const ROLLBACK_EVENTS: [&str; 2] = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"];

impl<C: Cloud> Engine<'_, C> {
    /// Every check of the environment against its settings (and, given a packaged
    /// release, against its artifacts).
    pub async fn doctor(&self, manifest: Option<&Manifest>) -> Vec<Finding> {
        let mut findings = Vec::new();
        findings.extend(self.check_codedeploy().await);
        findings.extend(self.check_alarms().await);
        let (functions, roles) = self.check_functions(manifest).await;
        findings.extend(functions);
        findings.extend(self.check_ledger().await);
        findings.extend(self.check_permissions(&roles).await);
        findings
    }

    async fn check_codedeploy(&self) -> Vec<Finding> {
        let s = self.settings;
        let mut out = Vec::new();
        out.push(match self.cloud.check_config(&s.deployment_config).await {
            Ok(()) => Finding::pass("deployment config", &s.deployment_config, "exists"),
            Err(e) => Finding::error("deployment config", &s.deployment_config, &e),
        });
        for f in &s.functions {
            let subject = format!("{}/{}", s.application, f.deployment_group);
            let group = match self.cloud.group(&s.application, &f.deployment_group).await {
                Ok(group) => group,
                Err(e) => {
                    out.push(Finding::error("deployment group", subject, &e));
                    continue;
                }
            };
            let unwired: Vec<&String> = f.alarms.iter().filter(|a| !group.alarms.contains(a)).collect();
            let missing_events: Vec<&str> =
                ROLLBACK_EVENTS.iter().copied().filter(|e| !group.rollback_events.iter().any(|g| g == e)).collect();
            out.push(if !unwired.is_empty() || (!f.alarms.is_empty() && !group.alarms_enabled) {
                Finding::fail(
                    "deployment group",
                    &subject,
                    format!(
                        "alarms not wired into the group (CodeDeploy would not stop on them): {}",
                        if unwired.is_empty() { "alarm configuration disabled".to_owned() } else { join(&unwired) }
                    ),
                    "apply the environment's Terraform (traffic-shifting module wires each function's alarms)",
                )
            } else if !group.rollback_enabled || !missing_events.is_empty() {
                Finding::fail(
                    "deployment group",
                    &subject,
                    format!("automatic rollback lacks {}", missing_events.join(", ")),
                    "enable auto-rollback on DEPLOYMENT_FAILURE and DEPLOYMENT_STOP_ON_ALARM (traffic-shifting module)",
                )
            } else if group.ignore_poll_alarm_failure {
                Finding::warn(
                    "deployment group",
                    &subject,
                    "ignorePollAlarmFailure is true: an alarm CodeDeploy cannot read passes as OK",
                    "set ignore_poll_alarm_failure = false",
                )
            } else {
                Finding::pass(
                    "deployment group",
                    &subject,
                    format!("{} alarm(s) wired, rollback on failure and alarm", group.alarms.len()),
                )
            });
        }
        out
    }

    async fn check_alarms(&self) -> Vec<Finding> {
        let names = self.settings.watched_alarms();
        if names.is_empty() {
            return vec![Finding::warn(
                "alarms",
                &self.settings.environment,
                "no alarm is watched: a bad release is stopped only by a failing hook",
                "list each function's alarms in deployer.yaml (require_alarms: true enforces it)",
            )];
        }
        match self.cloud.describe(&names).await {
            Ok(views) => views
                .iter()
                .map(|a| match a.state {
                    AlarmState::Alarm => Finding::warn(
                        "alarm",
                        &a.name,
                        format!("in ALARM now ({}): a release would be refused", a.reason),
                        "resolve what it reports before releasing",
                    ),
                    _ => Finding::pass("alarm", &a.name, format!("exists, {}", a.state.as_str())),
                })
                .collect(),
            Err(e) => vec![Finding::error("alarms", join(&names), &e)],
        }
    }

    /// Each function and hook exists (functions with their alias) and fits the
    /// release's artifacts. Answers the findings and the hooks' roles.
    async fn check_functions(&self, manifest: Option<&Manifest>) -> (Vec<Finding>, BTreeMap<String, String>) {
        let s = self.settings;
        let mut out = Vec::new();
        let mut roles = BTreeMap::new();
        let hooks = [("pre-traffic", &s.hooks.pre_traffic), ("post-traffic", &s.hooks.post_traffic)];
        let functions = s.functions.iter().map(|f| (f.artifact.as_str(), &f.function_name));
        for (artifact, name) in functions.clone().chain(hooks) {
            let is_hook = hooks.iter().any(|(a, _)| *a == artifact);
            let state = match self.cloud.configuration(name, None).await {
                Ok(state) => state,
                Err(e) => {
                    out.push(Finding::error(if is_hook { "hook" } else { "function" }, name.as_str(), &e));
                    continue;
                }
            };
            if is_hook {
                if let Some(role) = &state.config.role {
                    roles.insert(name.clone(), role.clone());
                }
            }
            let fits = manifest
                .and_then(|m| m.artifacts.get(artifact))
                .map(|a| preflight::fits(artifact, a, name, &state.config));
            let mut detail = format!(
                "{} on {}",
                state.config.runtime.as_deref().unwrap_or("?"),
                if state.config.architectures.is_empty() { "?".into() } else { state.config.architectures.join(",") }
            );
            if !is_hook {
                match self.cloud.alias(name, ALIAS).await {
                    Ok(alias) if alias.version == UNRELEASED => {
                        detail.push_str(", live on $LATEST (never released: the first release bootstraps it)")
                    }
                    Ok(alias) => detail.push_str(&format!(", live on version {}", alias.version)),
                    Err(e) => {
                        out.push(Finding::error("function", name.as_str(), &e));
                        continue;
                    }
                }
            }
            out.push(match fits {
                Some(Err(e)) => Finding::error("artifact fit", name.as_str(), &e),
                Some(Ok(())) => Finding::pass(
                    "artifact fit",
                    name.as_str(),
                    format!("{detail}; the release's {artifact} runs there"),
                ),
                None => Finding::pass(if is_hook { "hook" } else { "function" }, name.as_str(), detail),
            });
        }
        (out, roles)
    }

    async fn check_ledger(&self) -> Vec<Finding> {
        let s = self.settings;
        let mut out = vec![match self.cloud.records(Some(1)).await {
            Ok(records) => Finding::pass(
                "release ledger",
                &s.release_table,
                match records.first() {
                    Some(r) => format!("readable; last release {} ({})", r.release_id, r.status.as_str()),
                    None => "readable; no release yet".into(),
                },
            ),
            Err(e) => Finding::error("release ledger", &s.release_table, &e),
        }];
        if let Ok(Some(lock)) = self.cloud.lock_info().await {
            out.push(Finding::warn(
                "release lock",
                &s.release_table,
                format!("held by {} since {}", lock.holder, lock.since),
                "wait for that release; a dead holder's lock expires on its own",
            ));
        }
        out
    }

    /// IAM's simulator: the deploy role may make every call the deployer makes, and
    /// each hook's role every call the hooks make, on the environment's resources.
    async fn check_permissions(&self, hook_roles: &BTreeMap<String, String>) -> Vec<Finding> {
        let mut principals = vec![(self.settings.deploy_role_arn.clone(), DEPLOY_ROLE, "the deploy role")];
        for role in hook_roles.values() {
            if !principals.iter().any(|(p, _, _)| p == role) {
                principals.push((role.clone(), HOOKS, "a hook's role"));
            }
        }
        let mut out = Vec::new();
        for (principal, actions, what) in principals {
            type Context = Vec<(&'static str, &'static str)>;
            let mut by_scope: BTreeMap<(Vec<String>, Context), Vec<String>> = BTreeMap::new();
            for (action, scope) in actions {
                let key = (self.resources(*scope, hook_roles), scope.context());
                by_scope.entry(key).or_default().push((*action).to_owned());
            }
            let mut denied = Vec::new();
            let mut checked = 0;
            for ((resources, context), actions) in by_scope.into_iter().filter(|((r, _), _)| !r.is_empty()) {
                match self.cloud.simulate(&principal, &actions, &resources, &context).await {
                    Ok(decisions) => {
                        checked += decisions.len();
                        denied.extend(
                            decisions
                                .into_iter()
                                .filter(|d| !d.allowed)
                                .map(|d| format!("{} on {} ({})", d.action, d.resource, d.decision)),
                        );
                    }
                    Err(e) => {
                        out.push(Finding::warn(
                            "permissions",
                            &principal,
                            format!("could not simulate {what}'s policies: {e}"),
                            "grant the deploy role iam:SimulatePrincipalPolicy on itself and the hooks' roles (deploy-role module), or check the policies by hand",
                        ));
                        checked = usize::MAX;
                        break;
                    }
                }
            }
            if checked == usize::MAX {
                continue;
            }
            out.push(if denied.is_empty() {
                Finding::pass("permissions", &principal, format!("{what}: {checked} action/resource pairs allowed"))
            } else {
                Finding::fail(
                    "permissions",
                    &principal,
                    format!("{what} is denied: {}", denied.join("; ")),
                    "grant these in the role's policy (terraform/modules: deploy-role for the deploy role, traffic-shifting for the hooks) and apply",
                )
            });
        }
        out
    }

    /// The ARNs an action of `scope` is evaluated against here.
    fn resources(&self, scope: Scope, hook_roles: &BTreeMap<String, String>) -> Vec<String> {
        let s = self.settings;
        let (region, account) = (&s.region, &s.account_id);
        let function = |name: &str| format!("arn:aws:lambda:{region}:{account}:function:{name}");
        match scope {
            Scope::Functions => s.functions.iter().map(|f| function(&f.function_name)).collect(),
            Scope::FunctionsAndHooks => s
                .functions
                .iter()
                .map(|f| function(&f.function_name))
                .chain([function(&s.hooks.pre_traffic), function(&s.hooks.post_traffic)])
                .collect(),
            Scope::HookLogGroups => [&s.hooks.pre_traffic, &s.hooks.post_traffic]
                .into_iter()
                .map(|hook| {
                    format!("arn:aws:logs:{region}:{account}:log-group:{}", crate::cloud::hook_log::log_group(hook))
                })
                .collect(),
            Scope::DeploymentConfig => {
                vec![format!("arn:aws:codedeploy:{region}:{account}:deploymentconfig:{}", s.deployment_config)]
            }
            Scope::DeploymentGroups => s
                .functions
                .iter()
                .map(|f| {
                    format!(
                        "arn:aws:codedeploy:{region}:{account}:deploymentgroup:{}/{}",
                        s.application, f.deployment_group
                    )
                })
                .collect(),
            Scope::Alarms => {
                s.watched_alarms().iter().map(|a| format!("arn:aws:cloudwatch:{region}:{account}:alarm:{a}")).collect()
            }
            Scope::Ledger => vec![format!("arn:aws:dynamodb:{region}:{account}:table/{}", s.release_table)],
            // prune deletes versions only: the qualified ARN a version has.
            Scope::FunctionVersions => {
                s.functions.iter().map(|f| format!("{}:1", function(&f.function_name))).collect()
            }
            Scope::Roles => std::iter::once(s.deploy_role_arn.clone()).chain(hook_roles.values().cloned()).collect(),
            Scope::Dashboard => vec![Workload::of(s).dashboard_arn()],
            Scope::RunLedger => vec![Workload::of(s).run_ledger_arn()],
            Scope::WorkloadRoles => Workload::of(s).role_arns(),
            Scope::ReleaseLog => vec![Workload::of(s).release_log_stream_arn()],
            Scope::StateMachine
            | Scope::Executions
            | Scope::RawBucket
            | Scope::CuratedBucket
            | Scope::QuarantineBucket
            | Scope::SyntheticPartition
            | Scope::OutputObjects => {
                let Some(w) = &s.workflow else { return Vec::new() };
                match scope {
                    Scope::StateMachine => {
                        vec![s.state_machine_arn(&w.state_machine)]
                    }
                    Scope::Executions => {
                        vec![format!("arn:aws:states:{region}:{account}:execution:{}:replay", w.state_machine)]
                    }
                    Scope::RawBucket => vec![format!("arn:aws:s3:::{}", w.raw_bucket)],
                    Scope::CuratedBucket => w.curated_bucket.iter().map(|b| format!("arn:aws:s3:::{b}")).collect(),
                    Scope::QuarantineBucket => {
                        w.quarantine_bucket.iter().map(|b| format!("arn:aws:s3:::{b}")).collect()
                    }
                    Scope::OutputObjects => {
                        let day = super::replay::SYNTHETIC_DATE;
                        let curated = w.curated_bucket.iter().flat_map(|b| {
                            [
                                format!("arn:aws:s3:::{b}/dt={day}/_SUCCESS"),
                                format!("arn:aws:s3:::{b}/shadow/dt={day}/_SUCCESS"),
                            ]
                        });
                        let quarantine = w.quarantine_bucket.iter().flat_map(|b| {
                            [
                                format!("arn:aws:s3:::{b}/quarantine/dt={day}/batch-00000.jsonl"),
                                format!("arn:aws:s3:::{b}/shadow/quarantine/dt={day}/batch-00000.jsonl"),
                            ]
                        });
                        curated.chain(quarantine).collect()
                    }
                    _ => vec![format!(
                        "arn:aws:s3:::{}/dt={}/synthetic.jsonl",
                        w.raw_bucket,
                        super::replay::SYNTHETIC_DATE
                    )],
                }
            }
            Scope::Any => vec!["*".into()],
        }
    }
}

fn join<T: AsRef<str>>(items: &[T]) -> String {
    items.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
}
