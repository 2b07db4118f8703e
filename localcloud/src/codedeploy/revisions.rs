//! Application revisions: what GetDeployment says of a deployment's revision, and
//! GetApplicationRevision, the call that gives an inline AppSpec's content back.
//!
//! On AWS, GetDeployment of a deployment created with an inline AppSpec
//! (`revisionType: AppSpecContent`) names the revision by its SHA-256 and does not
//! return the content. The content is read with GetApplicationRevision, passing that
//! revision, and comes back as a raw string (`revision.string.content`).
//! References: seek-oss/aws-codedeploy-hooks, a hook library in production use:
//! `packages/infra/src/handlers/process/process.test.ts` models GetDeployment's
//! `revision` as `{appSpecContent: {sha256}}`, and `process/lambda/lambda.ts` passes
//! that revision to GetApplicationRevision and parses `revision.string.content`
//! (its test mocks the reply as `{revision: {string: {content}}}`). The shapes are
//! `RevisionLocation`, `RawString` and `GenericRevisionInfo` in the SDK's service
//! model (aws-sdk-codedeploy, `get_application_revision`).

use serde_json::{json, Value};

use super::applications::app_exists;
use super::appspec::sha256_hex;
use super::store::{Deployment, State};
use super::CodeDeploy;
use crate::api::{ApiError, ApiResult, Params};

/// The inline AppSpec a deployment was created with.
fn content(revision: &Value) -> Option<&str> {
    revision.pointer("/appSpecContent/content").and_then(Value::as_str)
}

/// A deployment's revision as GetDeployment and BatchGetDeployments return it:
/// the type and the content's SHA-256, not the content.
pub(super) fn summary(revision: &Value) -> Value {
    match content(revision) {
        Some(text) => json!({"revisionType": "AppSpecContent", "appSpecContent": {"sha256": sha256_hex(text)}}),
        None => json!({"revisionType": revision.get("revisionType").cloned().unwrap_or(Value::Null)}),
    }
}

/// The SHA-256 a GetApplicationRevision request names: `appSpecContent` or `string`
/// (the older RawString form), by hash or, failing that, by content.
fn requested_sha(revision: &Params<'_>) -> ApiResult<Option<String>> {
    for block in ["appSpecContent", "string"] {
        if let Some(inline) = revision.object(block)? {
            if let Some(sha) = inline.str("sha256")? {
                return Ok(Some(sha.trim().to_ascii_lowercase()));
            }
            if let Some(text) = inline.str("content")? {
                return Ok(Some(sha256_hex(&text)));
            }
        }
    }
    Ok(None)
}

/// The deployments of `app` in `account` whose AppSpec hashes to `sha`, oldest first.
fn uses<'s>(state: &'s State, account: &str, app: &str, sha: &str) -> Vec<&'s Deployment> {
    let mut found: Vec<&Deployment> = state
        .accounts
        .get(account)
        .map(|a| {
            a.deployments
                .values()
                .filter(|d| d.application == app && content(&d.revision).is_some_and(|c| sha256_hex(c) == sha))
                .collect()
        })
        .unwrap_or_default();
    found.sort_by(|a, b| a.create_time.total_cmp(&b.create_time));
    found
}

impl CodeDeploy {
    pub(super) fn get_application_revision(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let app = input.required_str("applicationName", "ApplicationNameRequiredException")?;
        let revision = input
            .object("revision")?
            .ok_or_else(|| ApiError::new("RevisionRequiredException", "revision is required"))?;
        let sha = requested_sha(&revision)?.ok_or_else(|| {
            ApiError::new(
                "RevisionDoesNotExistException",
                "localcloud keeps inline AppSpec revisions only: name one by appSpecContent.sha256",
            )
        })?;
        self.read(|s| {
            // A hook may call with its own function's credentials: the application's
            // account is the caller's, or else the one that holds this revision.
            let owner = std::iter::once(account)
                .chain(s.accounts.keys().map(String::as_str))
                .find(|acct| !uses(s, acct, &app, &sha).is_empty());
            let Some(owner) = owner else {
                app_exists(s, account, &app)?;
                return Err(ApiError::new(
                    "RevisionDoesNotExistException",
                    format!("application {app} has no revision with SHA-256 {sha}"),
                ));
            };
            let deployments = uses(s, owner, &app, &sha);
            let (Some(first), Some(last)) = (deployments.first(), deployments.last()) else {
                return Err(ApiError::new("RevisionDoesNotExistException", format!("no revision {sha}")));
            };
            let text = content(&first.revision).unwrap_or_default();
            let mut groups: Vec<&str> = deployments.iter().map(|d| d.group.as_str()).collect();
            groups.sort_unstable();
            groups.dedup();
            let mut info = json!({
                "deploymentGroups": groups,
                "firstUsedTime": first.create_time,
                "lastUsedTime": last.create_time,
                "registerTime": first.create_time,
            });
            if let Some(description) = &first.description {
                info["description"] = json!(description);
            }
            Ok(json!({
                "applicationName": app,
                "revision": {"revisionType": "String", "string": {"content": text, "sha256": sha}},
                "revisionInfo": info,
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_revision_by_hash_without_its_content() {
        let revision = json!({"revisionType": "AppSpecContent", "appSpecContent": {"content": "version: 0.0"}});
        let shown = summary(&revision);
        assert_eq!(shown["revisionType"], "AppSpecContent");
        assert_eq!(shown["appSpecContent"]["sha256"], sha256_hex("version: 0.0"));
        assert!(shown["appSpecContent"].get("content").is_none(), "{shown}");
    }
}
