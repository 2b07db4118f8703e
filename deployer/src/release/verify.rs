//! Reading a packaged release back: the manifest, and every artifact checked against
//! its hash before anything uses it.

use std::collections::BTreeMap;
use std::path::Path;

use super::{release_id, sha256_hex, Artifact, LoadedRelease, Manifest, ZipBytes, MANIFEST, SCHEMAS};
use crate::error::{DeployError, Result};

/// Reads `release.json` from `dist` and every zip it names, checking each hash.
pub fn load(dist: &Path) -> Result<LoadedRelease> {
    let manifest = read_manifest(dist)?;
    let zips = read_artifacts(dist, &manifest)?;
    Ok(LoadedRelease { manifest, zips })
}

/// Reads and checks `release.json` (cheap: no artifact is read).
pub fn read_manifest(dist: &Path) -> Result<Manifest> {
    let path = dist.join(MANIFEST);
    let text = std::fs::read(&path).map_err(|e| {
        DeployError::artifact(
            &path,
            format!("cannot read the release manifest: {e}"),
            "run `deployer package` first (or pass --dist)",
        )
    })?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| {
        DeployError::artifact(&path, format!("is not a release manifest: {e}"), "run `deployer package` again")
    })?;
    if !SCHEMAS.contains(&manifest.schema) {
        return Err(DeployError::artifact(
            &path,
            format!("schema {} is not one this deployer reads ({SCHEMAS:?})", manifest.schema),
            "package with this deployer",
        ));
    }
    if release_id(&manifest.artifacts) != manifest.release_id {
        return Err(DeployError::artifact(
            &path,
            "release_id does not match the artifacts",
            "run `deployer package` again",
        ));
    }
    Ok(manifest)
}

/// Reads every artifact the manifest names and checks its sha256.
pub fn read_artifacts(dist: &Path, manifest: &Manifest) -> Result<BTreeMap<String, ZipBytes>> {
    let arrived = std::sync::Mutex::new(BTreeMap::new());
    verify_artifacts(dist, manifest, &|name, checked| {
        arrived.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(name, checked);
    });
    collect_verified(manifest, arrived.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner))
}

/// Reads and checks every artifact the manifest names, handing each to `verified` as
/// soon as it is checked, so that a caller can start uploading the first ones while
/// the rest are still being hashed.
pub fn verify_artifacts(dist: &Path, manifest: &Manifest, verified: &(dyn Fn(String, Result<ZipBytes>) + Sync)) {
    // Reading and hashing is the deployer's largest own cost on big releases: spread
    // it over the cores but one, which stays free for the async threads that run the
    // cloud preflight and the uploads meanwhile (they would otherwise be preempted).
    let entries: Vec<(&String, &Artifact)> = manifest.artifacts.iter().collect();
    let workers = std::thread::available_parallelism().map_or(2, usize::from).saturating_sub(1).clamp(1, 8);
    let chunk = entries.len().div_ceil(workers).max(1);
    std::thread::scope(|scope| {
        for part in entries.chunks(chunk) {
            scope.spawn(move || {
                for (name, artifact) in part {
                    verified((*name).clone(), verify_artifact(dist, name, artifact));
                }
            });
        }
    });
}

fn verify_artifact(dist: &Path, name: &str, artifact: &Artifact) -> Result<ZipBytes> {
    let zip_path = dist.join(&artifact.file);
    let bytes = std::fs::read(&zip_path).map_err(|e| {
        DeployError::artifact(&zip_path, format!("artifact {name} is missing: {e}"), "run `deployer package` again")
    })?;
    if sha256_hex(&bytes) != artifact.sha256 {
        return Err(DeployError::artifact(
            &zip_path,
            format!("artifact {name} does not match the sha256 in {MANIFEST}"),
            "the file changed after packaging: run `deployer package` again",
        ));
    }
    Ok(ZipBytes::from(bytes))
}

/// Every artifact of the manifest, or the first one (in the manifest's order) that
/// failed its check: the same error whichever thread finished first.
pub fn collect_verified(
    manifest: &Manifest,
    mut arrived: BTreeMap<String, Result<ZipBytes>>,
) -> Result<BTreeMap<String, ZipBytes>> {
    let mut zips = BTreeMap::new();
    for name in manifest.artifacts.keys() {
        match arrived.remove(name) {
            Some(Ok(bytes)) => {
                zips.insert(name.clone(), bytes);
            }
            Some(Err(e)) => return Err(e),
            None => {
                return Err(DeployError::internal(format!(
                    "artifact {name} was never checked: a hashing thread failed"
                )))
            }
        }
    }
    Ok(zips)
}
