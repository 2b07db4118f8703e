//! Where the review finds what deployer.yaml does not name: the workload-account
//! module names everything after the environment's prefix, which is the CodeDeploy
//! application (`etl-<env>`; the module's plan fails when deployer.yaml's
//! `application` differs). One place, so that `review`, `doctor`'s simulation and the
//! release log agree with Terraform (terraform/modules/etl-workflow, traffic-shifting,
//! workload-account).

use crate::settings::Settings;

/// The release log's stream, created by Terraform beside the log group.
pub const RELEASE_LOG_STREAM: &str = "deployer";

/// One environment's workload names.
#[derive(Debug, Clone, Copy)]
pub struct Workload<'a> {
    settings: &'a Settings,
}

impl<'a> Workload<'a> {
    pub fn of(settings: &'a Settings) -> Self {
        Self { settings }
    }

    fn prefix(&self) -> &str {
        &self.settings.application
    }

    /// The ETL state machine: deployer.yaml's `workflow.state_machine`, else the
    /// etl-workflow module's name, `<prefix>-etl`.
    pub fn state_machine_arn(&self) -> String {
        let s = self.settings;
        let name = s.workflow.as_ref().map_or_else(|| format!("{}-etl", self.prefix()), |w| w.state_machine.clone());
        s.state_machine_arn(&name)
    }

    /// The CloudWatch dashboard (workload-account: named like the prefix).
    pub fn dashboard(&self) -> String {
        self.prefix().to_owned()
    }

    pub fn dashboard_arn(&self) -> String {
        // Dashboards are global to the account: no region in the ARN.
        format!("arn:aws:cloudwatch::{}:dashboard/{}", self.settings.account_id, self.dashboard())
    }

    /// The run ledger the functions write (etl-workflow: `<prefix>-runs`); the review
    /// reads the name from the functions' LEDGER_TABLE and falls back to this.
    pub fn run_ledger(&self) -> String {
        format!("{}-runs", self.prefix())
    }

    pub fn run_ledger_arn(&self) -> String {
        let s = self.settings;
        format!("arn:aws:dynamodb:{}:{}:table/{}", s.region, s.account_id, self.run_ledger())
    }

    /// The role a function runs as (etl-workflow names it after the function).
    pub fn function_role(function_name: &str) -> String {
        function_name.to_owned()
    }

    /// The state machine's role (etl-workflow).
    pub fn state_machine_role(&self) -> String {
        format!("{}-etl-state-machine", self.prefix())
    }

    /// The deploy role's name (deploy_role may be given as an ARN).
    pub fn deploy_role(&self) -> String {
        self.settings.deploy_role_arn.rsplit('/').next().unwrap_or_default().to_owned()
    }

    /// Every role the review reads, as ARNs (for doctor's simulation and the policy).
    pub fn role_arns(&self) -> Vec<String> {
        let account = &self.settings.account_id;
        self.settings
            .functions
            .iter()
            .map(|f| Self::function_role(&f.function_name))
            .chain([self.state_machine_role(), self.deploy_role()])
            .map(|r| format!("arn:aws:iam::{account}:role/{r}"))
            .collect()
    }

    /// A Lambda function's log group.
    pub fn function_log_group(function_name: &str) -> String {
        format!("/aws/lambda/{function_name}")
    }

    /// The state machine's execution log group (etl-workflow).
    pub fn state_machine_log_group(&self) -> String {
        format!("/aws/vendedlogs/states/{}-etl", self.prefix())
    }

    /// The release log (traffic-shifting: `/<prefix>/releases`), one event per release.
    pub fn release_log(&self) -> String {
        format!("/{}/releases", self.prefix())
    }

    pub fn release_log_stream_arn(&self) -> String {
        let s = self.settings;
        format!(
            "arn:aws:logs:{}:{}:log-group:{}:log-stream:{RELEASE_LOG_STREAM}",
            s.region,
            s.account_id,
            self.release_log()
        )
    }
}
