//! Tags on applications and deployment groups: TagResource, UntagResource,
//! ListTagsForResource, and the `tags` lists that create calls take.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::names::{application_arn, group_arn};
use super::store::State;
use super::CodeDeploy;
use crate::api::{ApiError, ApiResult, Params};

/// A `[{Key, Value}]` list as a map; every entry needs a Key.
pub(super) fn tag_list(input: &Params<'_>, field: &str) -> ApiResult<BTreeMap<String, String>> {
    let mut tags = BTreeMap::new();
    for item in input.objects(field)? {
        let key = item
            .str("Key")?
            .ok_or_else(|| ApiError::new("InvalidTagException", format!("every {field} entry needs a Key")))?;
        tags.insert(key, item.str("Value")?.unwrap_or_default());
    }
    Ok(tags)
}

fn resource_exists(s: &State, account: &str, arn: &str) -> bool {
    let Some(a) = s.accounts.get(account) else { return false };
    a.applications.keys().any(|n| application_arn(account, n) == arn)
        || a.groups.values().any(|g| group_arn(account, &g.application, &g.name) == arn)
}

fn resource_arn(input: &Params<'_>) -> ApiResult<String> {
    input.required_str("ResourceArn", "ResourceArnRequiredException")
}

fn check_exists(s: &State, account: &str, arn: &str) -> ApiResult<()> {
    if resource_exists(s, account, arn) {
        Ok(())
    } else {
        Err(ApiError::new("InvalidArnException", format!("no application or deployment group with ARN {arn}")))
    }
}

impl CodeDeploy {
    pub(super) fn tag_resource(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let arn = resource_arn(input)?;
        let tags = tag_list(input, "Tags")?;
        self.mutate(|s| {
            check_exists(s, account, &arn)?;
            s.account(account).tags.entry(arn).or_default().extend(tags);
            Ok(json!({}))
        })
    }

    pub(super) fn untag_resource(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let arn = resource_arn(input)?;
        let keys = input.strings("TagKeys")?;
        self.mutate(|s| {
            check_exists(s, account, &arn)?;
            if let Some(tags) = s.account(account).tags.get_mut(&arn) {
                for key in keys {
                    tags.remove(&key);
                }
            }
            Ok(json!({}))
        })
    }

    pub(super) fn list_tags(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let arn = resource_arn(input)?;
        self.read(|s| {
            check_exists(s, account, &arn)?;
            let tags: Vec<Value> = s.accounts[account]
                .tags
                .get(&arn)
                .map(|t| t.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect())
                .unwrap_or_default();
            Ok(json!({"Tags": tags}))
        })
    }
}
