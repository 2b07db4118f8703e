//! `deployer package`: each binary zipped reproducibly as `bootstrap`, and the
//! manifest that names them.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{
    code_sha256, elf, release_id, sha256_hex, Artifact, ArtifactKind, Manifest, Profile, FUNCTIONS, HOOKS, MANIFEST,
    SCHEMA,
};
use crate::error::{DeployError, Result};

/// Zips `binary` as `bootstrap` with fixed metadata.
pub fn zip_bootstrap(binary: &[u8]) -> Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::with_capacity(binary.len() / 2));
    let mut zip = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        // Level 1: several times faster than the default on 50 MB debug binaries, and
        // still a fixed level, so the bytes stay reproducible.
        .compression_level(Some(1))
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o755);
    let fail = |e: &dyn std::fmt::Display| DeployError::internal(format!("zipping bootstrap: {e}"));
    zip.start_file("bootstrap", options).map_err(|e| fail(&e))?;
    zip.write_all(binary).map_err(|e| fail(&e))?;
    zip.finish().map_err(|e| fail(&e))?;
    Ok(out.into_inner())
}

/// One artifact to zip: where its binary is and how it was built (None: a binary
/// given by path, whose build the deployer does not know).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanEntry {
    pub name: String,
    pub kind: ArtifactKind,
    pub binary: PathBuf,
    pub profile: Option<Profile>,
}

/// Which binary each artifact is zipped from.
#[derive(Debug, Clone)]
pub struct PackagePlan {
    pub entries: Vec<PlanEntry>,
    /// The curated fields this release changes on purpose (`--expect-output-change`),
    /// which the shadow diff then allows.
    pub expected_output_changes: Vec<String>,
}

impl PackagePlan {
    /// The default artifacts from `bin_dir` (the workspace's debug build: `<name>`
    /// each), with `overrides` (`name=path`) replacing or adding binaries.
    pub fn new(bin_dir: &Path, overrides: &[(String, PathBuf)]) -> Self {
        Self::from(|name| bin_dir.join(name), Profile::Debug, overrides)
    }

    /// The default artifacts at `built(name)`, built with `profile`, with `overrides`.
    pub fn from(built: impl Fn(&str) -> PathBuf, profile: Profile, overrides: &[(String, PathBuf)]) -> Self {
        let mut entries: Vec<PlanEntry> = FUNCTIONS
            .iter()
            .map(|n| (n, ArtifactKind::Function))
            .chain(HOOKS.iter().map(|n| (n, ArtifactKind::Hook)))
            .map(|(n, kind)| PlanEntry { name: (*n).to_owned(), kind, binary: built(n), profile: Some(profile) })
            .collect();
        for (name, path) in overrides {
            match entries.iter_mut().find(|e| &e.name == name) {
                Some(entry) => {
                    entry.binary.clone_from(path);
                    entry.profile = None;
                }
                None => entries.push(PlanEntry {
                    name: name.clone(),
                    kind: ArtifactKind::Function,
                    binary: path.clone(),
                    profile: None,
                }),
            }
        }
        Self { entries, expected_output_changes: Vec::new() }
    }
}

/// Zips every planned binary into `dist` and writes `dist/release.json`.
pub fn package(plan: &PackagePlan, dist: &Path, git_commit: &str) -> Result<Manifest> {
    std::fs::create_dir_all(dist).map_err(|e| {
        DeployError::artifact(dist, format!("cannot create it: {e}"), "choose a writable --dist folder")
    })?;
    // One thread per artifact: compression is the whole cost of packaging.
    let zipped: Vec<Result<(String, Artifact)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = plan
            .entries
            .iter()
            .map(|PlanEntry { name, kind, binary, profile }| {
                scope.spawn(move || {
                    let bytes = std::fs::read(binary).map_err(|e| {
                        DeployError::artifact(
                            binary,
                            format!("cannot read the binary of {name}: {e}"),
                            "build it first (drop --no-build) or pass --bin NAME=PATH",
                        )
                    })?;
                    // A bootstrap that is not an ELF (a script) is packaged as it is; an
                    // ELF's needs are recorded for the deployer's check against Lambda.
                    let needs = elf::needs(&bytes).ok();
                    let zip = zip_bootstrap(&bytes)?;
                    let file = format!("{name}.zip");
                    write_atomically(&dist.join(&file), &zip)?;
                    let (sha256, code_sha256) = (sha256_hex(&zip), code_sha256(&zip));
                    Ok((
                        name.clone(),
                        Artifact {
                            kind: *kind,
                            file,
                            sha256,
                            code_sha256,
                            size: zip.len() as u64,
                            architecture: needs.as_ref().map(|n| n.architecture),
                            glibc: needs.as_ref().and_then(|n| n.glibc).map(|v| v.to_string()),
                            profile: *profile,
                        },
                    ))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(DeployError::internal("a packaging thread panicked"))))
            .collect()
    });
    let mut artifacts = BTreeMap::new();
    for entry in zipped {
        let (name, artifact) = entry?;
        artifacts.insert(name, artifact);
    }
    let manifest = Manifest {
        schema: SCHEMA,
        release_id: release_id(&artifacts),
        git_commit: git_commit.to_owned(),
        artifacts,
        expected_output_changes: plan.expected_output_changes.clone(),
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| DeployError::internal(e.to_string()))?;
    write_atomically(&dist.join(MANIFEST), &json)?;
    Ok(manifest)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| DeployError::artifact(path, format!("cannot write it: {e}"), "check the folder is writable"))
}

/// The commit being packaged: GITHUB_SHA / CODEBUILD_RESOLVED_SOURCE_VERSION in CI,
/// else git, marked `-dirty` when the tree has changes.
pub fn git_commit(root: &Path) -> String {
    for var in ["GITHUB_SHA", "CODEBUILD_RESOLVED_SOURCE_VERSION"] {
        if let Ok(sha) = std::env::var(var) {
            if !sha.is_empty() {
                return sha;
            }
        }
    }
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "HEAD"]) {
        Some(head) => match git(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(changes) if !changes.is_empty() => format!("{head}-dirty"),
            _ => head,
        },
        None => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::load;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("deployer-release-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn plan(bins: &Path) -> PackagePlan {
        for (i, name) in FUNCTIONS.iter().chain(HOOKS.iter()).enumerate() {
            std::fs::write(bins.join(name), format!("#!/bin/sh\necho {name} {i}\n").repeat(100)).unwrap();
        }
        PackagePlan::new(bins, &[])
    }

    #[test]
    fn same_source_gives_the_same_bytes() {
        let bins = temp("bins");
        let plan = plan(&bins);
        let (a, b) = (temp("a"), temp("b"));
        let first = package(&plan, &a, "abc").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100)); // a different mtime second
        let second = package(&plan, &b, "abc").unwrap();
        assert_eq!(first, second);
        for name in FUNCTIONS.iter().chain(HOOKS.iter()) {
            let file = format!("{name}.zip");
            assert_eq!(std::fs::read(a.join(&file)).unwrap(), std::fs::read(b.join(&file)).unwrap(), "{file}");
        }
        assert_eq!(std::fs::read(a.join(MANIFEST)).unwrap(), std::fs::read(b.join(MANIFEST)).unwrap());
        let loaded = load(&a).unwrap();
        assert_eq!(loaded.manifest.artifacts.len(), 6);
        assert_eq!(loaded.manifest.artifacts["pre-traffic"].kind, ArtifactKind::Hook);
        // The zip holds an executable `bootstrap`.
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(loaded.zips["load"].clone())).unwrap();
        let entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name(), "bootstrap");
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
    }

    #[test]
    fn a_changed_binary_changes_only_its_artifact_and_the_release_id() {
        let bins = temp("bins2");
        let plan = plan(&bins);
        let (a, b) = (temp("c"), temp("d"));
        let first = package(&plan, &a, "abc").unwrap();
        std::fs::write(bins.join("transform"), "changed").unwrap();
        let second = package(&plan, &b, "abc").unwrap();
        assert_ne!(first.release_id, second.release_id);
        for (name, artifact) in &first.artifacts {
            assert_eq!(artifact == &second.artifacts[name], name != "transform", "{name}");
        }
    }

    #[test]
    fn tampered_or_missing_artifacts_are_refused() {
        let bins = temp("bins3");
        let plan = plan(&bins);
        let dist = temp("e");
        package(&plan, &dist, "abc").unwrap();
        std::fs::write(dist.join("load.zip"), "not the packaged bytes").unwrap();
        let e = load(&dist).expect_err("tampered");
        assert!(e.to_string().contains("load.zip") && e.to_string().contains("does not match"), "{e}");
        assert_eq!(e.exit_code(), crate::error::exit::CONFIG);
        std::fs::remove_file(dist.join("load.zip")).unwrap();
        assert!(load(&dist).expect_err("missing").to_string().contains("artifact load is missing"));
        let e = load(&temp("empty")).expect_err("no manifest").explained();
        assert!(e.contains("release.json") && e.contains("deployer package"), "{e}");
    }

    #[test]
    fn code_sha256_is_lambdas_base64_form() {
        assert_eq!(code_sha256(b""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    }
}
