//! [`HookLogs`] over CloudWatch Logs: a hook's verdict line on one deployment, found
//! with FilterLogEvents on the hook's log group.

use super::failure::send;
use super::SdkCloud;
use crate::cloud::hook_log::{log_group, verdict_in};
use crate::cloud::{HookLogs, HookVerdict};
use crate::error::Result;

/// Pages read at most: a hook logs a handful of lines per deployment.
const MAX_PAGES: usize = 20;

impl HookLogs for SdkCloud {
    async fn hook_verdict(&self, hook: &str, deployment_id: &str, since_ms: u64) -> Result<Option<HookVerdict>> {
        let group = log_group(hook);
        // A quoted term matches the id anywhere in the line (it holds '-', which an
        // unquoted term may not); each line found is parsed to be sure it is a verdict.
        let pattern = format!("\"{deployment_id}\"");
        let mut verdict = None;
        let mut next = None;
        for _ in 0..MAX_PAGES {
            let page = match send!(
                self.ctx,
                format!("FilterLogEvents {group}"),
                self.logs
                    .filter_log_events()
                    .log_group_name(&group)
                    .filter_pattern(&pattern)
                    .start_time(i64::try_from(since_ms).unwrap_or(0))
                    .set_next_token(next.take())
            ) {
                Ok(page) => page,
                Err(f) if f.code() == Some("ResourceNotFoundException") => return Ok(None),
                Err(f) => return Err(f.into_error()),
            };
            let found = page.events().iter().rev().find_map(|e| verdict_in(hook, e.message()?, deployment_id));
            verdict = found.or(verdict);
            match page.next_token() {
                Some(token) => next = Some(token.to_owned()),
                None => break,
            }
        }
        Ok(verdict)
    }
}
