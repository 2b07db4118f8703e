//! What the review reads of the environment, through the cloud seam and as the deploy
//! role. Every read is kept with its outcome: a read that fails (a missing grant, a
//! missing resource) becomes a fact of its own, so the items that need it stay
//! unticked and say why, and the rest of the review still stands.

use super::names::Workload;
use crate::cloud::{
    AlarmView, Alarms, Deployments, FunctionConfig, Functions, GroupView, Inventory, Ledger, LogGroupView, RoleView,
    TableView, WorkflowView,
};
use crate::ledger::ReleaseRecord;
use crate::settings::{Function, Settings};

/// A read: its answer, or why there is none (the error, with its fix).
pub type Read<T> = Result<T, String>;

fn read<T>(result: crate::error::Result<T>) -> Read<T> {
    result.map_err(|e| format!("{e} (fix: {})", e.fix()))
}

/// One ETL function as the review sees it.
#[derive(Debug, Clone)]
pub struct FunctionFacts {
    pub function: Function,
    pub config: Read<FunctionConfig>,
    /// Its resource-based policy (None: it has none).
    pub policy: Read<Option<String>>,
    /// Its role (read by the name in its configuration).
    pub role: Read<Option<RoleView>>,
    pub group: Read<GroupView>,
}

/// Everything read of the environment.
#[derive(Debug, Clone)]
pub struct EnvironmentFacts {
    pub functions: Vec<FunctionFacts>,
    /// The pre- and post-traffic hooks: (name, configuration).
    pub hooks: Vec<(String, Read<FunctionConfig>)>,
    pub deployment_config: Read<()>,
    pub alarms: Read<Vec<AlarmView>>,
    pub workflow: Read<Option<WorkflowView>>,
    pub workflow_role: Read<Option<RoleView>>,
    /// The functions' and hooks' log groups and the state machine's.
    pub log_groups: Read<Vec<LogGroupView>>,
    pub dashboard: Read<Option<String>>,
    /// The run ledger's name (from the functions' LEDGER_TABLE) and the table.
    pub run_ledger: (String, Read<Option<TableView>>),
    pub deploy_role: Read<Option<RoleView>>,
    /// The release ledger, newest first.
    pub releases: Read<Vec<ReleaseRecord>>,
}

/// How many release records the review reads.
const RELEASES_READ: usize = 20;

/// Reads the environment `settings` describes.
pub async fn gather<C>(settings: &Settings, cloud: &C) -> EnvironmentFacts
where
    C: Functions + Deployments + Alarms + Ledger + Inventory,
{
    let names = Workload::of(settings);
    let mut functions = Vec::new();
    for f in &settings.functions {
        let config = read(cloud.configuration(&f.function_name, None).await.map(|s| s.config));
        let role = match &config {
            Ok(c) => match c.role.as_deref().and_then(|arn| arn.rsplit('/').next()) {
                Some(name) => read(cloud.role(name).await),
                None => Ok(None),
            },
            Err(e) => Err(format!("the function could not be read: {e}")),
        };
        functions.push(FunctionFacts {
            function: f.clone(),
            policy: read(cloud.function_policy(&f.function_name).await),
            role,
            group: read(cloud.group(&settings.application, &f.deployment_group).await),
            config,
        });
    }
    let mut hooks = Vec::new();
    for hook in [&settings.hooks.pre_traffic, &settings.hooks.post_traffic] {
        hooks.push((hook.clone(), read(cloud.configuration(hook, None).await.map(|s| s.config))));
    }
    let names_alarmed = settings.watched_alarms();
    let alarms = if names_alarmed.is_empty() { Ok(Vec::new()) } else { read(cloud.describe(&names_alarmed).await) };
    let workflow = read(cloud.workflow(&names.state_machine_arn()).await);
    let workflow_role = match &workflow {
        Ok(Some(w)) => match w.role_arn.rsplit('/').next().filter(|n| !n.is_empty()) {
            Some(name) => read(cloud.role(name).await),
            None => Ok(None),
        },
        Ok(None) => Ok(None),
        Err(e) => Err(e.clone()),
    };
    let mut log_groups = read(cloud.log_groups(&format!("/aws/lambda/{}-", settings.application)).await);
    if let Ok(groups) = &mut log_groups {
        match read(cloud.log_groups(&names.state_machine_log_group()).await) {
            Ok(more) => groups.extend(more),
            Err(e) => log_groups = Err(e),
        }
    }
    // The table the functions actually write, as their configuration names it.
    let ledger_name = functions
        .iter()
        .filter_map(|f| f.config.as_ref().ok())
        .find_map(|c| c.environment.get("LEDGER_TABLE").cloned())
        .unwrap_or_else(|| names.run_ledger());
    let run_ledger = read(cloud.table(&ledger_name).await);
    EnvironmentFacts {
        functions,
        hooks,
        deployment_config: read(cloud.check_config(&settings.deployment_config).await),
        alarms,
        workflow,
        workflow_role,
        log_groups,
        dashboard: read(cloud.dashboard(&names.dashboard()).await),
        run_ledger: (ledger_name, run_ledger),
        deploy_role: read(cloud.role(&names.deploy_role()).await),
        releases: read(cloud.records(Some(RELEASES_READ)).await),
    }
}
