//! Applications: CreateApplication, GetApplication, BatchGetApplications,
//! ListApplications, UpdateApplication (rename), DeleteApplication.

use serde_json::{json, Value};

use super::names::{application_arn, validate_name};
use super::shapes::application_info;
use super::store::{group_key, Application, State};
use super::tags::tag_list;
use super::CodeDeploy;
use crate::api::ids::uuid;
use crate::api::{ApiError, ApiResult, Params};
use crate::clock::Clock;

const PLATFORMS: [&str; 3] = ["Server", "Lambda", "ECS"];

/// The application named `name` in `account`, or ApplicationDoesNotExistException.
pub(super) fn app_exists(state: &State, account: &str, name: &str) -> ApiResult<()> {
    if state.accounts.get(account).is_some_and(|a| a.applications.contains_key(name)) {
        Ok(())
    } else {
        Err(ApiError::new(
            "ApplicationDoesNotExistException",
            format!("no application named {name} in account {account}"),
        ))
    }
}

fn application_name(input: &Params<'_>) -> ApiResult<String> {
    input.required_str("applicationName", "ApplicationNameRequiredException")
}

impl CodeDeploy {
    pub(super) fn create_application(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let name = application_name(input)?;
        validate_name(&name, "InvalidApplicationNameException", "applicationName")?;
        let platform = input.str("computePlatform")?.unwrap_or_else(|| "Server".into());
        if !PLATFORMS.contains(&platform.as_str()) {
            return Err(ApiError::new(
                "InvalidComputePlatformException",
                format!("computePlatform must be Server, Lambda or ECS, not {platform}"),
            ));
        }
        let tags = tag_list(input, "tags")?;
        self.mutate(|state| {
            let a = state.account(account);
            if a.applications.contains_key(&name) {
                return Err(ApiError::new(
                    "ApplicationAlreadyExistsException",
                    format!("application {name} already exists"),
                ));
            }
            let app = Application {
                id: uuid(),
                name: name.clone(),
                create_time: Clock::now_epoch(),
                compute_platform: platform,
            };
            let id = app.id.clone();
            a.applications.insert(name.clone(), app);
            if !tags.is_empty() {
                a.tags.insert(application_arn(account, &name), tags);
            }
            Ok(json!({"applicationId": id}))
        })
    }

    pub(super) fn get_application(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let name = application_name(input)?;
        self.read(|s| {
            app_exists(s, account, &name)?;
            Ok(json!({"application": application_info(&s.accounts[account].applications[&name])}))
        })
    }

    pub(super) fn batch_get_applications(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let names = input.strings("applicationNames")?;
        self.read(|s| {
            let infos = names
                .iter()
                .map(|n| {
                    app_exists(s, account, n)?;
                    Ok(application_info(&s.accounts[account].applications[n]))
                })
                .collect::<ApiResult<Vec<_>>>()?;
            Ok(json!({"applicationsInfo": infos}))
        })
    }

    pub(super) fn list_applications(&self, account: &str) -> Value {
        self.read(|s| {
            let names: Vec<&String> =
                s.accounts.get(account).map(|a| a.applications.keys().collect()).unwrap_or_default();
            json!({"applications": names})
        })
    }

    pub(super) fn update_application(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let name = application_name(input)?;
        let new_name = input.str("newApplicationName")?;
        self.mutate(|s| {
            app_exists(s, account, &name)?;
            let Some(new_name) = new_name.filter(|n| *n != name) else { return Ok(json!({})) };
            validate_name(&new_name, "InvalidApplicationNameException", "newApplicationName")?;
            let a = s.account(account);
            if a.applications.contains_key(&new_name) {
                return Err(ApiError::new(
                    "ApplicationAlreadyExistsException",
                    format!("application {new_name} already exists"),
                ));
            }
            let Some(mut app) = a.applications.remove(&name) else { return Ok(json!({})) };
            app.name = new_name.clone();
            a.applications.insert(new_name.clone(), app);
            let prefix = format!("{name}/");
            let moved: Vec<String> = a.groups.keys().filter(|k| k.starts_with(&prefix)).cloned().collect();
            for key in moved {
                if let Some(mut group) = a.groups.remove(&key) {
                    group.application = new_name.clone();
                    a.groups.insert(group_key(&new_name, &group.name), group);
                }
            }
            if let Some(tags) = a.tags.remove(&application_arn(account, &name)) {
                a.tags.insert(application_arn(account, &new_name), tags);
            }
            Ok(json!({}))
        })
    }

    pub(super) fn delete_application(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let name = application_name(input)?;
        self.mutate(|s| {
            let a = s.account(account);
            a.applications.remove(&name);
            let prefix = format!("{name}/");
            a.groups.retain(|k, _| !k.starts_with(&prefix));
            let group_arns = format!(":deploymentgroup:{name}/");
            a.tags.retain(|arn, _| arn != &application_arn(account, &name) && !arn.contains(&group_arns));
            Ok(json!({}))
        })
    }
}
