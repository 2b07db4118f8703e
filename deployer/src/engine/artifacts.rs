//! A release's artifacts on their way: verified from `dist/` in the background while
//! the preflight talks to the cloud, uploaded to the artifact store as they pass, or
//! fetched back from it for a promotion; and freed as they ship.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::time::Instant;

use crate::cloud::{artifact_key, ArtifactStore};
use crate::error::{DeployError, RefusalKind, Result};
use crate::ledger::ReleaseRecord;
use crate::release::{LoadedRelease, Manifest, ZipBytes, MANIFEST};

/// A release's artifacts: read already, or still being read and hashed on blocking
/// threads while the preflight talks to the cloud.
pub enum Zips {
    Ready(BTreeMap<String, ZipBytes>),
    Verifying { manifest: Manifest, arrivals: tokio::sync::mpsc::UnboundedReceiver<(String, Result<ZipBytes>)> },
}

impl Zips {
    /// Starts reading and verifying `dist`'s artifacts in the background.
    pub fn verify(dist: std::path::PathBuf, manifest: &Manifest) -> Self {
        let (sender, arrivals) = tokio::sync::mpsc::unbounded_channel();
        let checked = manifest.clone();
        tokio::task::spawn_blocking(move || {
            crate::release::verify_artifacts(&dist, &checked, &|name, zip| {
                // Nobody listening any more means the command already failed.
                let _ = sender.send((name, zip));
            });
        });
        Self::Verifying { manifest: manifest.clone(), arrivals }
    }

    /// The next artifact to finish its check, in no particular order; `None` once every
    /// artifact has been handed out.
    pub(crate) async fn next(&mut self) -> Option<(String, Result<ZipBytes>)> {
        match self {
            Self::Ready(zips) => zips.pop_first().map(|(name, zip)| (name, Ok(zip))),
            Self::Verifying { arrivals, .. } => arrivals.recv().await,
        }
    }

    /// Every artifact, once all are checked; or the first (in the manifest's order)
    /// that failed.
    pub async fn ready(self) -> Result<BTreeMap<String, ZipBytes>> {
        match self {
            Self::Ready(zips) => Ok(zips),
            Self::Verifying { manifest, mut arrivals } => {
                let mut arrived = BTreeMap::new();
                while let Some((name, zip)) = arrivals.recv().await {
                    arrived.insert(name, zip);
                }
                crate::release::collect_verified(&manifest, arrived)
            }
        }
    }
}

/// Fetches a release from the artifact store and checks every hash against what the
/// source environment recorded.
pub async fn fetch_release<S: ArtifactStore>(store: &S, record: &ReleaseRecord) -> Result<LoadedRelease> {
    let manifest_bytes = store.get(&artifact_key(&record.release_id, MANIFEST)).await?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes).map_err(|e| {
        DeployError::refused(
            RefusalKind::StoredArtifact,
            format!("the stored manifest of {} is unreadable: {e}", record.release_id),
            "deploy the release to the first environment again, which stores it anew",
        )
    })?;
    // Fetched together; each is hashed in its own task as it arrives.
    let fetches = manifest.artifacts.iter().map(|(name, a)| {
        let (store, name, key, sha256) =
            (store.clone(), name.clone(), artifact_key(&record.release_id, &a.file), a.sha256.clone());
        let release_id = record.release_id.clone();
        async move {
            let bytes = store.get(&key).await?;
            if crate::release::sha256_hex(&bytes) != sha256 {
                return Err(DeployError::refused(
                    RefusalKind::StoredArtifact,
                    format!("the stored artifact {name} of {release_id} does not match its manifest: refusing to promote it"),
                    "deploy the release to the first environment again, which stores it anew",
                ));
            }
            Ok((name, bytes))
        }
    });
    let zips: BTreeMap<String, ZipBytes> = super::join::all(fetches).await?.into_iter().collect();
    for (name, f) in &record.functions {
        if manifest.artifacts.get(name).map(|a| &a.code_sha256) != Some(&f.code_sha256) {
            return Err(DeployError::refused(
                RefusalKind::StoredArtifact,
                format!(
                    "{name}: the stored artifact's CodeSha256 differs from what {} ran ({}): refusing to promote",
                    record.environment, f.code_sha256
                ),
                "deploy the release to the first environment again, which stores it anew",
            ));
        }
    }
    Ok(LoadedRelease { manifest, zips })
}

/// Uploads a packaged release to the artifact store as its artifacts pass their
/// checks (objects already there are kept: keys are per release), the manifest last,
/// so that a manifest in the store always has every artifact it names and nothing
/// unchecked is ever uploaded. Returns the checked artifacts and the time spent
/// waiting for the hashing while no upload was in flight (the deployer's own time).
pub async fn store_release<S: ArtifactStore>(
    store: &S,
    manifest: &Manifest,
    mut zips: Zips,
) -> Result<(BTreeMap<String, ZipBytes>, Duration)> {
    let id = &manifest.release_id;
    let mut hashing = Duration::ZERO;
    let keys: BTreeMap<String, String> =
        manifest.artifacts.iter().map(|(name, a)| (name.clone(), artifact_key(id, &a.file))).collect();
    let present = super::join::all(keys.values().map(|key| {
        let (store, key) = (store.clone(), key.clone());
        async move { store.exists(&key).await }
    }))
    .await?;
    let mut missing: BTreeSet<&String> = keys.keys().zip(present).filter(|(_, p)| !p).map(|(name, _)| name).collect();
    let mut uploads = tokio::task::JoinSet::new();
    let mut arrived = BTreeMap::new();
    let mut upload_error = None;
    loop {
        let idle = uploads.is_empty();
        let since = Instant::now();
        tokio::select! {
            next = zips.next() => {
                if idle {
                    hashing += since.elapsed();
                }
                let Some((name, zip)) = next else { break };
                if let (Ok(bytes), true) = (&zip, missing.remove(&name)) {
                    let (store, key, bytes) = (store.clone(), keys[&name].clone(), bytes.clone());
                    uploads.spawn(async move { store.put(&key, bytes).await });
                }
                arrived.insert(name, zip);
            }
            Some(done) = uploads.join_next(), if !idle => {
                if let Err(e) = done.map_err(|e| DeployError::internal(format!("an upload task failed: {e}"))).and_then(|r| r) {
                    upload_error.get_or_insert(e);
                }
            }
        }
    }
    while let Some(done) = uploads.join_next().await {
        if let Err(e) = done.map_err(|e| DeployError::internal(format!("an upload task failed: {e}"))).and_then(|r| r) {
            upload_error.get_or_insert(e);
        }
    }
    // A bad artifact is what the user must fix first; the checked ones uploaded meanwhile
    // are correct objects under this release's keys.
    let zips = crate::release::collect_verified(manifest, arrived)?;
    if let Some(e) = upload_error {
        return Err(e);
    }
    let manifest_bytes = serde_json::to_vec_pretty(manifest).map_err(|e| DeployError::internal(e.to_string()))?;
    store.put(&artifact_key(id, MANIFEST), manifest_bytes.into()).await?;
    Ok((zips, hashing))
}

/// Takes an artifact's bytes out of the release for its upload.
pub(crate) fn take_zip(zips: &mut BTreeMap<String, ZipBytes>, artifact: &str) -> Result<ZipBytes> {
    zips.remove(artifact).ok_or_else(|| DeployError::internal(format!("the release holds no bytes for {artifact}")))
}

/// Drops artifacts on a blocking thread: returning hundreds of megabytes to the
/// kernel takes milliseconds that the release need not wait for.
pub(crate) fn free_in_background(zips: BTreeMap<String, ZipBytes>) {
    if !zips.is_empty() {
        drop(tokio::task::spawn_blocking(move || drop(zips)));
    }
}
