//! What the review reads of this repository: the files that decide how the workload
//! is built, tested and delivered (the workflows, the test script, deny.toml, the
//! Terraform roots and modules, the functions' sources), and every environment's
//! deployer.yaml. Read once, up front; a missing file is a fact like any other.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::environment::Read;
use crate::settings::Settings;

/// The files the checklist looks at, relative to the repository root.
pub const FILES: &[&str] = &[
    RELEASE_WORKFLOW,
    PULL_REQUEST_WORKFLOW,
    DENY,
    TEST_SCRIPT,
    OBSERVABILITY,
    RUNTIME,
    TRANSFORM,
    TRANSFORM_BENCH,
    ETL_MODULE,
    DASHBOARD_MODULE,
    DEPENDENCY_SCRIPT,
];

pub const RELEASE_WORKFLOW: &str = ".github/workflows/release.yml";
pub const PULL_REQUEST_WORKFLOW: &str = ".github/workflows/pull-request.yml";
pub const DENY: &str = "deny.toml";
pub const TEST_SCRIPT: &str = "scripts/test.sh";
pub const OBSERVABILITY: &str = "functions/etl-functions/src/observability.rs";
pub const RUNTIME: &str = "functions/etl-functions/src/runtime.rs";
pub const TRANSFORM: &str = "functions/etl-core/src/transform.rs";
pub const TRANSFORM_BENCH: &str = "functions/etl-core/benches/transform.rs";
pub const ETL_MODULE: &str = "terraform/modules/etl-workflow/main.tf";
pub const DASHBOARD_MODULE: &str = "terraform/modules/workload-account/dashboard.tf";
pub const DEPENDENCY_SCRIPT: &str = "pipelines/scripts/dependencies.sh";

/// One environment's Terraform root and settings.
#[derive(Debug, Clone)]
pub struct EnvironmentRoot {
    pub name: String,
    /// `environments/<name>/main.tf`.
    pub terraform: Read<String>,
    pub settings: Read<Settings>,
}

/// What was read of the repository.
#[derive(Debug, Clone)]
pub struct RepositoryFacts {
    pub root: PathBuf,
    pub files: BTreeMap<&'static str, Read<String>>,
    /// Every environment with a deployer.yaml, in the order of its promotion chain.
    pub environments: Vec<EnvironmentRoot>,
}

impl RepositoryFacts {
    /// Reads the files and every environment under `settings_dir`.
    pub fn read(root: &Path, settings_dir: &Path) -> Self {
        let files = FILES
            .iter()
            .map(|f| (*f, std::fs::read_to_string(root.join(f)).map_err(|e| format!("{f}: {e}"))))
            .collect();
        let mut names: Vec<String> = std::fs::read_dir(settings_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join(crate::settings::SETTINGS_FILE).is_file())
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect();
        names.sort();
        let mut environments: Vec<EnvironmentRoot> = names
            .into_iter()
            .map(|name| EnvironmentRoot {
                terraform: std::fs::read_to_string(settings_dir.join(&name).join("main.tf"))
                    .map_err(|e| format!("environments/{name}/main.tf: {e}")),
                settings: Settings::load(settings_dir, &name, false).map_err(|e| e.to_string()),
                name,
            })
            .collect();
        order_by_chain(&mut environments);
        Self { root: root.to_path_buf(), files, environments }
    }

    pub fn file(&self, path: &str) -> Result<&str, &str> {
        match self.files.get(path) {
            Some(Ok(text)) => Ok(text),
            Some(Err(e)) => Err(e),
            None => Err("not read"),
        }
    }

    /// The environments of the promotion chain ending at `env`, first first
    /// (dev, test, prod): each one's `promotes_from` is the one before.
    pub fn chain_to(&self, env: &str) -> Vec<&EnvironmentRoot> {
        let mut chain = Vec::new();
        let mut current = Some(env.to_owned());
        while let Some(name) = current {
            let Some(root) = self.environments.iter().find(|e| e.name == name) else { break };
            if chain.iter().any(|e: &&EnvironmentRoot| e.name == name) {
                break;
            }
            chain.push(root);
            current = root.settings.as_ref().ok().and_then(|s| s.promotes_from.clone());
        }
        chain.reverse();
        chain
    }
}

/// Sorts environments so that each comes after the one it promotes from.
fn order_by_chain(environments: &mut [EnvironmentRoot]) {
    let depth = |name: &str, all: &[EnvironmentRoot]| {
        let mut depth = 0;
        let mut current = name.to_owned();
        while let Some(from) = all
            .iter()
            .find(|e| e.name == current)
            .and_then(|e| e.settings.as_ref().ok())
            .and_then(|s| s.promotes_from.clone())
        {
            depth += 1;
            current = from;
            if depth > all.len() {
                break;
            }
        }
        depth
    };
    let depths: Vec<(String, usize)> =
        environments.iter().map(|e| (e.name.clone(), depth(&e.name, environments))).collect();
    environments.sort_by_key(|e| depths.iter().find(|(n, _)| *n == e.name).map_or(0, |(_, d)| *d));
}

/// A job of a GitHub Actions workflow, as the review reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub name: String,
    pub environment: Option<String>,
    pub needs: Vec<String>,
    /// The `run:` lines of its steps.
    pub runs: Vec<String>,
}

/// The jobs of a workflow file's text.
pub fn jobs(text: &str) -> Result<Vec<Job>, String> {
    let doc: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    let jobs = doc.get("jobs").and_then(serde_yaml::Value::as_mapping).ok_or("no jobs")?;
    Ok(jobs
        .iter()
        .map(|(name, job)| {
            let environment = match job.get("environment") {
                Some(serde_yaml::Value::String(s)) => Some(s.clone()),
                Some(v) => v.get("name").and_then(serde_yaml::Value::as_str).map(str::to_owned),
                None => None,
            };
            let needs = match job.get("needs") {
                Some(serde_yaml::Value::String(s)) => vec![s.clone()],
                Some(serde_yaml::Value::Sequence(s)) => {
                    s.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
                }
                _ => Vec::new(),
            };
            let runs = job
                .get("steps")
                .and_then(serde_yaml::Value::as_sequence)
                .map(|steps| {
                    steps
                        .iter()
                        .filter_map(|s| s.get("run").and_then(serde_yaml::Value::as_str).map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            Job { name: name.as_str().unwrap_or_default().to_owned(), environment, needs, runs }
        })
        .collect())
}
