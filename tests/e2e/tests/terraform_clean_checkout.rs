//! `terraform plan` of every Terraform root and module example on a clean checkout: no
//! `dist/`, no `.terraform/`, nothing built. The pull-request plan job runs on such a
//! checkout, so a root that reads a build output at plan time (as `filebase64sha256`
//! of `dist/*.zip` once did) fails there and must fail here.
//!
//! The approach:
//! - The checkout is the files git would check out if the working tree were committed
//!   now (`git ls-files --cached --others --exclude-standard`: tracked and new, never
//!   ignored ones such as `dist/`), copied into a scratch folder.
//! - Each root is planned for real, with the real AWS provider, against a private local
//!   cloud with nothing in it: every expression, validation and precondition is
//!   evaluated as in a plan against AWS, and every resource comes out "to add".
//! - The roots whose state lives in S3 (dev, test, prod, tooling) get one file added, an
//!   override (`*_override.tf`, which Terraform merges into the configuration) that
//!   keeps the state in a local file instead; nothing else in them changes. They run
//!   with the tooling account's keys and assume their `terraform` role as on AWS (the
//!   local cloud's STS, like AWS, answers with keys of the role's account, which the
//!   providers' `allowed_account_ids` then check). `environments/local` carries its own
//!   keys; each module example runs with the account its ARNs name.
//! - On the same copy, a deployer.yaml whose architecture Lambda does not know fails
//!   dev's plan, naming the file and the fields.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{bail, ensure, Context, Result};
use e2e::{succeeded, DEV, PROD, TOOLING};
use localcloud::testing::{workspace_root, LocalCloud};

/// The account each module example plans in: the one whose ARNs it names (the
/// deploy-role example builds prod's role, for example).
const EXAMPLE_ACCOUNTS: [(&str, &str); 7] = [
    ("artifact-store", TOOLING),
    ("deploy-role", PROD),
    ("etl-workflow", DEV),
    ("github-oidc", TOOLING),
    ("pipeline", TOOLING),
    ("traffic-shifting", DEV),
    ("workload-account", DEV),
];

/// The roots in environments/ and whether their state lives in S3.
const ROOTS: [(&str, bool); 5] = [("dev", true), ("test", true), ("prod", true), ("tooling", true), ("local", false)];

/// Copies the files a clean checkout of terraform/ and environments/ holds into `to`.
fn clean_checkout(to: &Path) -> Result<()> {
    let root = workspace_root();
    let out = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "terraform", "environments"])
        .current_dir(&root)
        .output()
        .context("running git ls-files")?;
    let listed = succeeded("git ls-files", &out)?;
    let mut copied = 0;
    for file in listed.split('\0').filter(|f| !f.is_empty()) {
        let source = root.join(file);
        // A file deleted from the working tree but not yet from the index.
        if !source.is_file() {
            continue;
        }
        let target = to.join(file);
        std::fs::create_dir_all(target.parent().context("a file in a folder")?)?;
        std::fs::copy(&source, &target).with_context(|| format!("copying {file}"))?;
        copied += 1;
    }
    ensure!(copied > 50, "only {copied} files in the checkout: is this a git work tree?");
    ensure!(!to.join("dist").exists(), "a clean checkout has no dist/");
    Ok(())
}

/// `terraform plan` in `dir` with the repository's CLI configuration: its stdout when
/// it plans changes.
fn plan(dir: &Path, data_dir: &Path, cache: &Path, endpoint: &str, access_key: &str) -> Result<String> {
    let out = run_plan(dir, data_dir, cache, endpoint, access_key)?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    match out.status.code() {
        Some(2) => Ok(stdout),
        Some(0) => bail!("the plan of {} on an empty cloud creates nothing:\n{stdout}", dir.display()),
        _ => bail!(
            "terraform plan failed in {} on a clean checkout (no dist/):\n{stdout}\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// `terraform init` and `terraform plan -detailed-exitcode` in `dir`.
fn run_plan(dir: &Path, data_dir: &Path, cache: &Path, endpoint: &str, access_key: &str) -> Result<Output> {
    let terraform = |args: &[&str]| {
        Command::new("bash")
            .arg("-c")
            .arg(r#"source "$1/scripts/terraform-env.sh" && shift && terraform "$@""#)
            .arg("terraform")
            .arg(workspace_root())
            .arg(format!("-chdir={}", dir.display()))
            .args(args)
            .env("TF_DATA_DIR", data_dir)
            // One copy of the 700 MB provider for every root, linked from the cache.
            .env("TF_PLUGIN_CACHE_DIR", cache)
            .env("TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE", "true")
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", access_key)
            .env("AWS_SECRET_ACCESS_KEY", "localcloud")
            .env("AWS_REGION", e2e::REGION)
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_DEFAULT_PROFILE")
            .output()
            .expect("running terraform")
    };
    succeeded(&format!("terraform init in {}", dir.display()), &terraform(&["init", "-input=false", "-no-color"]))?;
    Ok(terraform(&["plan", "-input=false", "-no-color", "-lock=false", "-detailed-exitcode"]))
}

/// The folders under `dir` that hold .tf files, by name.
fn tf_folders(dir: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?.flatten() {
        let path = entry.path();
        let has_tf = std::fs::read_dir(&path)
            .map(|files| files.flatten().any(|f| f.path().extension().is_some_and(|e| e == "tf")))
            .unwrap_or(false);
        if has_tf {
            found.insert(entry.file_name().to_string_lossy().into_owned(), path);
        }
    }
    Ok(found)
}

#[test]
fn every_root_and_example_plans_on_a_clean_checkout_without_dist() -> Result<()> {
    let scratch = e2e::scratch_dir("tf-clean-checkout")?;
    let checkout = scratch.join("checkout");
    clean_checkout(&checkout)?;
    let cloud = LocalCloud::start("tf-clean-checkout")?;
    let endpoint = cloud.endpoint();
    let cache = scratch.join("plugin-cache");
    std::fs::create_dir_all(&cache)?;

    let roots = tf_folders(&checkout.join("environments"))?;
    ensure!(
        roots.keys().map(String::as_str).eq({
            let mut names: Vec<&str> = ROOTS.iter().map(|(n, _)| *n).collect();
            names.sort_unstable();
            names
        }),
        "the roots in environments/ are {:?}: add a new one to ROOTS",
        roots.keys()
    );
    for (name, s3_backend) in ROOTS {
        let dir = &roots[name];
        if s3_backend {
            std::fs::write(
                dir.join("clean_checkout_override.tf"),
                "# Added by the clean-checkout test: state in a local file, not the S3 bucket.\n\
                 terraform {\n  backend \"local\" {}\n}\n",
            )?;
        }
        let out = plan(dir, &scratch.join(format!("data-{name}")), &cache, &endpoint, TOOLING)
            .with_context(|| format!("environments/{name}"))?;
        ensure!(out.contains("to add"), "environments/{name}: {out}");
        ensure!(
            out.contains("aws_lambda_function") || name == "tooling",
            "environments/{name} creates its functions: {out}"
        );
    }

    // deployer.yaml's architecture is Lambda's for every function and hook: a value
    // Lambda does not know is refused at plan time, naming the file and the fields.
    let settings = roots["dev"].join("deployer.yaml");
    let original = std::fs::read_to_string(&settings)?;
    ensure!(original.contains("\narchitecture: arm64\n"), "dev's deployer.yaml names its architecture: {original}");
    let bad = original.replace("\narchitecture: arm64\n", "\narchitecture: arm65\n").replacen(
        "    function_name: etl-dev-load\n",
        "    function_name: etl-dev-load\n    architecture: x86\n",
        1,
    );
    std::fs::write(&settings, bad)?;
    let out = run_plan(&roots["dev"], &scratch.join("data-dev"), &cache, &endpoint, TOOLING)?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let words: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    ensure!(out.status.code() == Some(1), "a bad architecture fails the plan:\n{text}");
    ensure!(
        words.contains(r#"environments/dev/deployer.yaml: architecture is "arm65", functions.load.architecture is "x86": use arm64 or x86_64"#),
        "the error names the file, the fields and the fix:\n{text}"
    );
    std::fs::write(&settings, original)?;

    let modules = tf_folders(&checkout.join("terraform").join("modules"))?;
    let mut planned = 0;
    for (module, dir) in &modules {
        let examples = tf_folders(&dir.join("examples")).unwrap_or_default();
        ensure!(!examples.is_empty(), "terraform/modules/{module} has no example");
        let account = EXAMPLE_ACCOUNTS.iter().find(|(m, _)| m == module).map(|(_, a)| *a).with_context(|| {
            format!("terraform/modules/{module}: add the account its example plans in to EXAMPLE_ACCOUNTS")
        })?;
        for (example, dir) in examples {
            let out = plan(&dir, &scratch.join(format!("data-{module}-{example}")), &cache, &endpoint, account)
                .with_context(|| format!("terraform/modules/{module}/examples/{example}"))?;
            ensure!(out.contains("to add"), "{module}/examples/{example}: {out}");
            planned += 1;
        }
    }
    ensure!(planned >= EXAMPLE_ACCOUNTS.len(), "planned only {planned} examples");
    drop(cloud);
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}
