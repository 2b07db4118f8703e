//! [`Permissions`] over IAM's policy simulator.

use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum};

use super::failure::send;
use super::SdkCloud;
use crate::cloud::{Decision, Permissions};
use crate::error::Result;

impl Permissions for SdkCloud {
    async fn simulate(
        &self,
        principal: &str,
        actions: &[String],
        resources: &[String],
        context: &[(&str, &str)],
    ) -> Result<Vec<Decision>> {
        let entries: Vec<ContextEntry> = context
            .iter()
            .map(|(key, value)| {
                ContextEntry::builder()
                    .context_key_name(*key)
                    .context_key_values(*value)
                    .context_key_type(ContextKeyTypeEnum::String)
                    .build()
            })
            .collect();
        let mut decisions = Vec::new();
        let mut marker = None;
        loop {
            let page = send!(
                self.ctx,
                format!("SimulatePrincipalPolicy {principal}"),
                self.iam
                    .simulate_principal_policy()
                    .policy_source_arn(principal)
                    .set_action_names(Some(actions.to_vec()))
                    .set_resource_arns(Some(resources.to_vec()))
                    .set_context_entries((!entries.is_empty()).then(|| entries.clone()))
                    .set_marker(marker)
            )
            .map_err(super::failure::Failed::into_error)?;
            for result in page.evaluation_results() {
                let action = result.eval_action_name().to_owned();
                // With several resources IAM answers per resource; with one, on the result.
                let specific = result.resource_specific_results();
                if specific.is_empty() {
                    let decision = result.eval_decision().as_str().to_owned();
                    decisions.push(Decision {
                        action,
                        resource: result.eval_resource_name().unwrap_or("*").to_owned(),
                        allowed: decision == "allowed",
                        decision,
                    });
                } else {
                    for r in specific {
                        let decision = r.eval_resource_decision().as_str().to_owned();
                        decisions.push(Decision {
                            action: action.clone(),
                            resource: r.eval_resource_name().to_owned(),
                            allowed: decision == "allowed",
                            decision,
                        });
                    }
                }
            }
            marker = page.marker().filter(|_| page.is_truncated()).map(str::to_owned);
            if marker.is_none() {
                break;
            }
        }
        Ok(decisions)
    }
}
