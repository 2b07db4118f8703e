//! The checklist: each question's items, judged on the facts read. Pure: the same
//! facts give the same review. An item is ticked only when it has evidence and no
//! problem; an unticked one says what is missing and what would meet it.

mod cost;
mod operations;
mod performance;
mod reliability;
mod security;

use std::collections::BTreeMap;

use super::environment::{EnvironmentFacts, FunctionFacts};
use super::model::{Evidence, Item, Level, Question};
use super::names::Workload;
use super::repository::RepositoryFacts;
use super::workflow::Definition;
use crate::cloud::{AlarmView, FunctionConfig, WorkflowView};
use crate::settings::Settings;

/// What the checklist judges.
pub struct Facts<'a> {
    pub settings: &'a Settings,
    pub env: &'a EnvironmentFacts,
    pub repo: &'a RepositoryFacts,
}

/// Collects an item's evidence and problems, then judges it.
#[derive(Default)]
struct Judge {
    evidence: Vec<Evidence>,
    problems: Vec<String>,
}

impl Judge {
    fn env(&mut self, subject: impl Into<String>, detail: impl Into<String>) {
        self.evidence.push(Evidence::environment(subject, detail));
    }

    fn repo(&mut self, subject: impl Into<String>, detail: impl Into<String>) {
        self.evidence.push(Evidence::repository(subject, detail));
    }

    fn problem(&mut self, problem: impl Into<String>) {
        self.problems.push(problem.into());
    }

    /// The repository file `path` must contain every needle; `says` is what that shows.
    fn file(&mut self, repo: &RepositoryFacts, path: &str, needles: &[&str], says: &str) {
        match repo.file(path) {
            Ok(text) if needles.iter().all(|n| text.contains(n)) => self.repo(path, says),
            Ok(_) => self.problem(format!("{path} does not show it ({})", needles.join(", "))),
            Err(e) => self.problem(format!("{path} could not be read: {e}")),
        }
    }

    fn item(self, id: &'static str, level: Level, practice: &'static str, met: &str, to_meet: &str) -> Item {
        let ticked = self.problems.is_empty() && !self.evidence.is_empty();
        let note = if ticked {
            met.to_owned()
        } else if self.problems.is_empty() {
            "nothing was found to show it".to_owned()
        } else {
            self.problems.join("; ")
        };
        Item {
            id,
            level,
            practice,
            ticked,
            note,
            evidence: self.evidence,
            to_meet: (!ticked).then(|| to_meet.to_owned()),
        }
    }
}

impl Facts<'_> {
    fn configs(&self) -> impl Iterator<Item = (&FunctionFacts, Result<&FunctionConfig, &String>)> {
        self.env.functions.iter().map(|f| (f, f.config.as_ref()))
    }

    fn alarms(&self) -> Result<BTreeMap<&str, &AlarmView>, &String> {
        self.env.alarms.as_ref().map(|all| all.iter().map(|a| (a.name.as_str(), a)).collect())
    }

    /// The workflow and its parsed definition, or why there is none.
    fn workflow(&self) -> Result<(&WorkflowView, Definition), String> {
        match &self.env.workflow {
            Ok(Some(w)) => Definition::parse(&w.definition).map(|d| (w, d)),
            Ok(None) => {
                Err(format!("the state machine {} does not exist", Workload::of(self.settings).state_machine_arn()))
            }
            Err(e) => Err(format!("the state machine could not be read: {e}")),
        }
    }

    fn function_name(&self, artifact: &str) -> Option<&str> {
        self.settings.functions.iter().find(|f| f.artifact == artifact).map(|f| f.function_name.as_str())
    }
}

fn short(state_machine_arn: &str) -> &str {
    state_machine_arn.rsplit(':').next().unwrap_or(state_machine_arn)
}

/// Every question, in the checklist's order.
pub fn questions(f: &Facts<'_>) -> Vec<Question> {
    vec![
        Question {
            id: "OPS 1",
            title: "How do you evaluate your serverless application's health?",
            items: vec![
                operations::ops1_alarms(f),
                operations::ops1_logging(f),
                operations::ops1_tracing(f),
                operations::ops1_metrics(f),
            ],
        },
        Question {
            id: "OPS 2",
            title: "How do you approach application lifecycle management?",
            items: vec![operations::ops2_iac(f), operations::ops2_rollout(f), operations::ops2_cicd(f)],
        },
        Question {
            id: "REL 1",
            title: "How do you regulate inbound request rates?",
            items: vec![reliability::rel1_concurrency(f), reliability::rel1_throttles(f)],
        },
        Question {
            id: "REL 2",
            title: "How do you build resiliency into your serverless application?",
            items: vec![reliability::rel2_failures(f), reliability::rel2_idempotency(f), reliability::rel2_saga(f)],
        },
        Question {
            id: "SEC 1",
            title: "How do you control access to your serverless application?",
            items: vec![security::sec1_no_public(f), security::sec1_scoped_callers(f), security::sec1_identity(f)],
        },
        Question {
            id: "SEC 2",
            title: "How do you manage the security boundaries of your serverless application?",
            items: vec![security::sec2_temporary_credentials(f), security::sec2_least_privilege(f)],
        },
        Question {
            id: "SEC 3",
            title: "How do you implement application security in your workload?",
            items: vec![security::sec3_validate(f), security::sec3_secrets(f), security::sec3_dependencies(f)],
        },
        Question {
            id: "PERF 1",
            title: "How have you optimized the performance of your serverless application?",
            items: vec![performance::perf1_capacity(f), performance::perf1_orchestration(f)],
        },
        Question {
            id: "COST 1",
            title: "How do you optimize your serverless application's costs?",
            items: vec![cost::cost1_logging(f), cost::cost1_configuration(f), cost::cost1_patterns(f)],
        },
    ]
}
