//! Deployment configurations: CreateDeploymentConfig (Lambda traffic routing only),
//! GetDeploymentConfig, ListDeploymentConfigs, DeleteDeploymentConfig.

use serde_json::{json, Value};

use super::names::validate_name;
use super::shapes::config_info;
use super::store::CustomConfig;
use super::traffic::{self, TrafficRoutingConfig};
use super::CodeDeploy;
use crate::api::ids::uuid;
use crate::api::{ApiError, ApiResult, Params};
use crate::clock::Clock;

fn config_name(input: &Params<'_>) -> ApiResult<String> {
    input.required_str("deploymentConfigName", "DeploymentConfigNameRequiredException")
}

impl CodeDeploy {
    pub(super) fn create_config(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let name = config_name(input)?;
        validate_name(&name, "InvalidDeploymentConfigNameException", "deploymentConfigName")?;
        let platform = input.str("computePlatform")?.unwrap_or_else(|| "Server".into());
        if platform != "Lambda" {
            return Err(ApiError::new(
                "InvalidComputePlatformException",
                format!("localcloud serves Lambda deployment configs only, not {platform}"),
            ));
        }
        let routing = match input.object("trafficRoutingConfig")? {
            Some(block) => TrafficRoutingConfig::from_params(&block)?,
            None => {
                return Err(ApiError::new(
                    "InvalidTrafficRoutingConfigurationException",
                    "a Lambda deployment config needs trafficRoutingConfig",
                ))
            }
        };
        routing.validate()?;
        self.mutate(|s| {
            let a = s.account(account);
            if traffic::predefined(&name).is_some()
                || name.starts_with("CodeDeployDefault.")
                || a.configs.contains_key(&name)
            {
                return Err(ApiError::new(
                    "DeploymentConfigAlreadyExistsException",
                    format!("deployment config {name} already exists"),
                ));
            }
            let config = CustomConfig {
                id: uuid(),
                name: name.clone(),
                create_time: Clock::now_epoch(),
                compute_platform: platform,
                traffic_routing: routing,
            };
            let id = config.id.clone();
            a.configs.insert(name, config);
            Ok(json!({"deploymentConfigId": id}))
        })
    }

    pub(super) fn get_config(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let name = config_name(input)?;
        self.read(|s| {
            let custom = s.accounts.get(account).and_then(|a| a.configs.get(&name));
            config_info(&name, custom).map(|info| json!({"deploymentConfigInfo": info})).ok_or_else(|| {
                ApiError::new("DeploymentConfigDoesNotExistException", format!("no deployment config named {name}"))
            })
        })
    }

    pub(super) fn list_configs(&self, account: &str) -> Value {
        self.read(|s| {
            let mut names: Vec<String> = traffic::PREDEFINED.iter().map(|n| (*n).to_owned()).collect();
            if let Some(a) = s.accounts.get(account) {
                names.extend(a.configs.keys().cloned());
            }
            json!({"deploymentConfigsList": names})
        })
    }

    pub(super) fn delete_config(&self, account: &str, input: &Params<'_>) -> ApiResult<Value> {
        let name = config_name(input)?;
        if traffic::predefined(&name).is_some() {
            return Err(ApiError::new(
                "InvalidOperationException",
                format!("{name} is predefined and cannot be deleted"),
            ));
        }
        self.mutate(|s| {
            let a = s.account(account);
            if let Some(group) = a.groups.values().find(|g| g.config_name() == name) {
                return Err(ApiError::new(
                    "DeploymentConfigInUseException",
                    format!("deployment group {} uses {name}", group.name),
                ));
            }
            a.configs.remove(&name);
            Ok(json!({}))
        })
    }
}
