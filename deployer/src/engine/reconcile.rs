//! After a call that is not idempotent fails, did it happen anyway? A dropped
//! connection after AWS applied a request (its answer lost) looks like any transient
//! failure; the SDK retries it, and the retry meets a world where the first attempt
//! happened: UpdateFunctionCode and PublishVersion then fail their RevisionId guard,
//! CreateDeployment finds the group busy with the deployment the first attempt started.
//! Each function here reads the state back and says whether the change is there, so
//! the release goes on instead of failing or doing it twice.

use crate::cloud::{Deployments, Functions};
use crate::error::Result;
use crate::settings::ALIAS;

/// `$LATEST` holds `sha`: the code update landed.
pub(crate) async fn code_landed<C: Functions>(cloud: &C, function: &str, sha: &str) -> Result<bool> {
    Ok(cloud.configuration(function, None).await?.code_sha256 == sha)
}

/// The version that holds `sha` and `$LATEST`'s configuration, if one exists: what
/// the PublishVersion that seemed to fail published (or an identical earlier one).
pub(crate) async fn published_version<C: Functions>(cloud: &C, function: &str, sha: &str) -> Result<Option<String>> {
    let latest = cloud.configuration(function, None).await?;
    if latest.code_sha256 != sha {
        return Ok(None);
    }
    for (version, code) in cloud.versions(function).await?.into_iter().rev() {
        if code != sha {
            continue;
        }
        let v = version.to_string();
        if cloud.configuration(function, Some(&v)).await?.config == latest.config {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// The unfinished deployment of `group` this release started (by its description).
pub(crate) async fn started_deployment<C: Deployments>(
    cloud: &C,
    application: &str,
    group: &str,
    description: &str,
) -> Result<Option<String>> {
    for id in cloud.in_flight(application, group).await? {
        if cloud.get(&id).await?.description.as_deref() == Some(description) {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// The alias points wholly at `version`: the update landed.
pub(crate) async fn alias_landed<C: Functions>(cloud: &C, function: &str, version: &str) -> Result<bool> {
    Ok(cloud.alias(function, ALIAS).await?.settled_on(version))
}
