//! Releases: reproducible packages and the `release.json` manifest that names them.
//!
//! A package is a zip with one entry, `bootstrap`, stored with a fixed timestamp and
//! mode, so the same binary always gives the same bytes and the same Lambda
//! CodeSha256. An unchanged function is then recognised by its hash and not republished.

pub mod elf;
pub mod lambda_build;
mod package;
mod verify;

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use package::{git_commit, package, zip_bootstrap, PackagePlan, PlanEntry};
pub use verify::{collect_verified, load, read_artifacts, read_manifest, verify_artifacts};

use crate::settings::Architecture;

pub const MANIFEST: &str = "release.json";
/// 2: per artifact the architecture, the glibc it needs and the build profile.
pub const SCHEMA: u32 = 2;
/// Manifests this deployer reads (1: stored by earlier deployers, promotable still).
pub const SCHEMAS: [u32; 2] = [1, 2];

/// What `package` builds by default: the ETL functions and the two hooks.
pub const FUNCTIONS: [&str; 4] = ["extract", "transform", "load", "compensate"];
pub const HOOKS: [&str; 2] = ["pre-traffic", "post-traffic"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactKind {
    Function,
    Hook,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    pub kind: ArtifactKind,
    /// The zip, relative to the manifest's folder.
    pub file: String,
    /// Hex sha256 of the zip.
    pub sha256: String,
    /// The same hash as Lambda reports it (base64), for the publish guard.
    pub code_sha256: String,
    pub size: u64,
    /// The `bootstrap`'s instruction set, from its ELF header (absent: not an ELF, or
    /// a schema 1 manifest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<Architecture>,
    /// The newest glibc version the `bootstrap` links against, `2.34` (absent: it
    /// needs none, or it is not an ELF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glibc: Option<String>,
    /// How it was built: `release` (cargo-lambda, for Lambda) or `debug` (the local
    /// cloud and the tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
}

/// The build profile of a release's binaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Debug,
    Release,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Release => "release",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema: u32,
    /// Derived from the artifacts' hashes: the same bytes are the same release.
    pub release_id: String,
    pub git_commit: String,
    pub artifacts: BTreeMap<String, Artifact>,
    /// The curated fields the release changes on purpose: the shadow diff counts
    /// records that differ only there apart, and allows them. Not part of the release
    /// id (the same bytes are the same release).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_output_changes: Vec<String>,
}

/// An artifact's bytes. Shared, not copied, between the uploads that need them (the
/// artifact store and Lambda), and handed over to the last one, so that a large
/// release is freed function by function as it ships rather than all at once at the end.
pub type ZipBytes = bytes::Bytes;

/// A manifest whose artifacts were read and checked against their hashes.
#[derive(Debug, Clone)]
pub struct LoadedRelease {
    pub manifest: Manifest,
    pub zips: BTreeMap<String, ZipBytes>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn code_sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

pub fn release_id(artifacts: &BTreeMap<String, Artifact>) -> String {
    let mut hasher = Sha256::new();
    for (name, a) in artifacts {
        hasher.update(format!("{name}={}\n", a.sha256));
        // What the bytes need is part of the release: a manifest that lies about it
        // no longer matches its id. (Absent in schema 1, whose ids stay as they were.)
        if let Some(arch) = a.architecture {
            hasher.update(format!("{name}.architecture={arch}\n"));
        }
        if let Some(glibc) = &a.glibc {
            hasher.update(format!("{name}.glibc={glibc}\n"));
        }
        if let Some(profile) = a.profile {
            hasher.update(format!("{name}.profile={}\n", profile.as_str()));
        }
    }
    let digest: String = hasher.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("r-{digest}")
}

/// A commit id as people read it.
pub fn short_commit(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}
