//! `review`: the Well-Architected review the workflow started from (the team's
//! Serverless Lens checklist: OPS 1-2, REL 1-2, SEC 1-3, PERF 1, COST 1), answered by
//! the system itself. Every tick is backed by evidence read from the environment
//! (through the cloud seam, as the deploy role) and from this repository, printed
//! beside it; an item the system does not meet stays unticked with what would meet it.
//! Read only.
//!
//! - [`environment`]: what is read of the account; [`repository`]: of the repository;
//! - [`checklist`]: the questions and their items, judged on those facts (pure; a file
//!   per pillar);
//! - [`workflow`], [`policy`], [`dashboard`]: readings of a state machine definition,
//!   IAM policy documents and a dashboard body;
//! - [`names`]: where the workload's resources are, after Terraform's naming;
//! - [`model`]: the review as data, which `report/` renders.

pub mod checklist;
pub mod dashboard;
pub mod environment;
pub mod model;
pub mod names;
pub mod policy;
pub mod repository;
#[cfg(test)]
mod tests;
pub mod workflow;

pub use model::*;

use crate::cloud::{Alarms, Deployments, Functions, Inventory, Ledger};
use crate::settings::Settings;
use repository::RepositoryFacts;

/// The checklist the review answers.
pub const LENS: &str = "AWS Well-Architected Framework, Serverless Applications Lens";

/// Reviews the environment `settings` describes, with the repository's facts.
pub async fn review<C>(settings: &Settings, cloud: &C, repo: &RepositoryFacts, git_commit: &str) -> Review
where
    C: Functions + Deployments + Alarms + Ledger + Inventory,
{
    let env = environment::gather(settings, cloud).await;
    let facts = checklist::Facts { settings, env: &env, repo };
    Review {
        lens: LENS,
        environment: settings.environment.clone(),
        account_id: settings.account_id.clone(),
        git_commit: git_commit.to_owned(),
        questions: checklist::questions(&facts),
    }
}
