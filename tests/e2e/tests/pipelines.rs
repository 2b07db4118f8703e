//! The pipelines: the workflows and composite actions pass actionlint and zizmor; the
//! merge workflow holds no logic the local rehearsal skips (every `run:` is a stage
//! script of pipelines/scripts, in the rehearsal's order); and the rehearsal itself,
//! on a private local cloud with time compressed 30x, takes a release dev -> test ->
//! prod (publishing prod's Well-Architected review), then stops at the stage that
//! fails (a rejected approval, a missing role, a failed dev deployment), says why in
//! its summary, and never changes prod.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};
use e2e::deployer::deployer_bin;
use e2e::{account_config, PROD, TEST};
use localcloud::testing::{workspace_root, LocalCloud};
use serde_json::Value;
use serde_yaml::Value as Yaml;

const FUNCTIONS: [&str; 4] = ["compensate", "extract", "load", "transform"];
/// The merge workflow's stages, as the rehearsal names them.
const STAGES: [&str; 5] = ["package", "deploy-dev", "promote-test", "approve-prod", "promote-prod"];
/// GitHub environments whose required reviewers gate a job: the rehearsal stands in
/// for them with approve.sh before that job's stage.
const REVIEWED_ENVIRONMENTS: [&str; 1] = ["prod"];

fn tool(name: &str) -> Result<PathBuf> {
    let path = workspace_root().join(".venv-tools").join("bin").join(name);
    ensure!(path.is_file(), "{} is missing: run `make setup` (requirements/tools.txt pins it)", path.display());
    Ok(path)
}

fn output_text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn workflows_and_actions_pass_actionlint_and_zizmor() -> Result<()> {
    let root = workspace_root();
    let out = Command::new(tool("actionlint")?).arg("-no-color").current_dir(&root).output()?;
    ensure!(out.status.success(), "actionlint reports problems in .github/workflows:\n{}", output_text(&out));

    // Offline: no GitHub API (the online audits need a token and the network).
    let out = Command::new(tool("zizmor")?)
        .args(["--offline", "--no-progress", "--color", "never", ".github/workflows", "pipelines/actions"])
        .current_dir(&root)
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .env_remove("ZIZMOR_GITHUB_TOKEN")
        .output()?;
    let text = output_text(&out);
    ensure!(out.status.success() && text.contains("No findings to report"), "zizmor reports findings:\n{text}");
    Ok(())
}

/// A `run:` line as a stage script call: `pipelines/scripts/<name>.sh [plain args]`.
fn script_call(run: &str, origin: &str) -> Result<(String, Vec<String>)> {
    let run = run.trim();
    let mut words = run.split_whitespace();
    let first = words.next().unwrap_or_default();
    let Some(script) = first.strip_prefix("pipelines/scripts/").filter(|s| s.ends_with(".sh") && !s.contains('/'))
    else {
        bail!("{origin}: `run: {run}` is not a call to a pipelines/scripts/*.sh script: the workflows hold no logic of their own");
    };
    ensure!(!run.contains('\n'), "{origin}: `run:` holds more than one line: {run:?}");
    let path = workspace_root().join("pipelines/scripts").join(script);
    let mode = std::fs::metadata(&path).with_context(|| format!("{origin}: {} does not exist", path.display()))?;
    ensure!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o111 != 0,
        "{origin}: {} is not executable",
        path.display()
    );
    let args: Vec<String> = words.map(str::to_owned).collect();
    for arg in &args {
        let plain = arg.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        let variable = arg
            .strip_prefix("\"$")
            .and_then(|a| a.strip_suffix('"'))
            .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'));
        ensure!(plain || variable, "{origin}: `run: {run}`: {arg} is neither a plain word nor a \"$VARIABLE\"");
    }
    ensure!(!run.contains("${{"), "{origin}: `run:` expands an expression; pass it through env: {run:?}");
    Ok((script.to_owned(), args))
}

fn yaml(path: &Path) -> Result<Yaml> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn steps(job: &Yaml) -> Vec<&Yaml> {
    job.get("steps").and_then(Yaml::as_sequence).map(|s| s.iter().collect()).unwrap_or_default()
}

fn text<'a>(value: &'a Yaml, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Yaml::as_str)
}

/// The jobs in the order `needs` runs them (ties in file order).
fn job_order(jobs: &serde_yaml::Mapping) -> Result<Vec<(String, &Yaml)>> {
    let mut left: Vec<(String, &Yaml)> =
        jobs.iter().map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), v)).collect();
    let mut order: Vec<(String, &Yaml)> = Vec::new();
    while !left.is_empty() {
        let ready = left
            .iter()
            .position(|(_, job)| {
                let needs: Vec<&str> = match job.get("needs") {
                    Some(Yaml::String(s)) => vec![s.as_str()],
                    Some(Yaml::Sequence(s)) => s.iter().filter_map(Yaml::as_str).collect(),
                    _ => Vec::new(),
                };
                needs.iter().all(|n| order.iter().any(|(name, _)| name == n))
            })
            .context("release.yml: the jobs' `needs` form a cycle or name a missing job")?;
        order.push(left.remove(ready));
    }
    Ok(order)
}

/// The rehearsal's stage list: the STAGES=( ... ) block of rehearse.sh.
fn rehearsal_stages() -> Result<Vec<(String, Vec<String>)>> {
    let path = workspace_root().join("pipelines/scripts/rehearse.sh");
    let text = std::fs::read_to_string(&path)?;
    let start = text.find("\nSTAGES=(\n").context("rehearse.sh has no STAGES=( ... ) list")?;
    let block = &text[start + "\nSTAGES=(\n".len()..];
    let end = block.find("\n)").context("rehearse.sh: STAGES is not closed")?;
    Ok(block[..end]
        .lines()
        .map(|l| l.trim().trim_matches('"'))
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut words = l.split_whitespace().map(str::to_owned);
            (words.next().unwrap_or_default(), words.collect())
        })
        .collect())
}

#[test]
fn the_merge_workflow_runs_the_rehearsals_stage_scripts_in_its_order() -> Result<()> {
    let root = workspace_root();
    let workflow = yaml(&root.join(".github/workflows/release.yml"))?;
    let jobs = workflow.get("jobs").and_then(Yaml::as_mapping).context("release.yml has no jobs")?;
    let mut stages: Vec<(String, Vec<String>)> = Vec::new();
    for (name, job) in job_order(jobs)? {
        let origin = format!("release.yml, job {name}");
        let environment = text(job, "environment");
        if let Some(env) = environment.filter(|e| REVIEWED_ENVIRONMENTS.contains(e)) {
            stages.push(("approve.sh".into(), vec![env.to_owned()]));
        }
        ensure!(job.get("timeout-minutes").is_some(), "{origin}: no timeout-minutes");
        let mut runs = Vec::new();
        for step in steps(job) {
            if let Some(run) = text(step, "run") {
                runs.push(script_call(run, &origin)?);
            }
        }
        // A job that changes an environment is bound to it, by OIDC, one at a time.
        for (script, args) in &runs {
            if script == "deploy.sh" || script == "promote.sh" {
                let env = args.first().context("deploy/promote without an environment")?;
                ensure!(
                    environment == Some(env.as_str()),
                    "{origin}: runs {script} {env} but is bound to {environment:?}"
                );
                ensure!(
                    job.get("permissions").and_then(|p| p.get("id-token")).and_then(Yaml::as_str) == Some("write"),
                    "{origin}: needs `permissions: id-token: write` for OIDC"
                );
                let concurrency = job.get("concurrency").context(format!("{origin}: no concurrency group"))?;
                ensure!(
                    text(concurrency, "group") == Some(&format!("deploy-{env}"))
                        && concurrency.get("cancel-in-progress").and_then(Yaml::as_bool) == Some(false),
                    "{origin}: wants concurrency group deploy-{env} with cancel-in-progress: false"
                );
            }
        }
        stages.extend(runs);
    }
    let rehearsal = rehearsal_stages()?;
    ensure!(
        stages == rehearsal,
        "release.yml runs these stages:\n  {stages:?}\nbut the rehearsal (pipelines/scripts/rehearse.sh) runs:\n  {rehearsal:?}"
    );
    let names: Vec<String> = rehearsal
        .iter()
        .map(|(s, a)| {
            format!("{}{}", s.trim_end_matches(".sh"), a.first().map(|e| format!("-{e}")).unwrap_or_default())
        })
        .collect();
    ensure!(names == STAGES, "{names:?}");

    // Every workflow: nothing granted at the top, checkouts keep no token, jobs time out,
    // no expression expanded inside a `run:`; third-party actions pinned to a commit.
    for entry in std::fs::read_dir(root.join(".github/workflows"))? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let workflow = yaml(&path)?;
        ensure!(
            workflow.get("permissions").and_then(Yaml::as_mapping).is_some_and(|p| p.is_empty()),
            "{name}: top-level `permissions: {{}}`, each job grants its own"
        );
        for (job_name, job) in workflow.get("jobs").and_then(Yaml::as_mapping).context("no jobs")? {
            let origin = format!("{name}, job {}", job_name.as_str().unwrap_or_default());
            ensure!(job.get("timeout-minutes").is_some(), "{origin}: no timeout-minutes");
            ensure!(job.get("permissions").is_some(), "{origin}: no job-level permissions");
            for step in steps(job) {
                if let Some(run) = text(step, "run") {
                    ensure!(!run.contains("${{"), "{origin}: `run:` expands an expression: {run:?}");
                }
                if text(step, "uses").is_some_and(|u| u.starts_with("actions/checkout@")) {
                    ensure!(
                        step.get("with").and_then(|w| w.get("persist-credentials")).and_then(Yaml::as_bool)
                            == Some(false),
                        "{origin}: checkout without persist-credentials: false"
                    );
                }
            }
        }
    }
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(root.join(".github/workflows"))?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    for entry in std::fs::read_dir(root.join("pipelines/actions"))? {
        files.push(entry?.path().join("action.yml"));
    }
    for path in &files {
        let text_all = std::fs::read_to_string(path)?;
        for (i, line) in text_all.lines().enumerate() {
            let Some(uses) = line.trim().trim_start_matches("- ").strip_prefix("uses: ") else {
                continue;
            };
            if let Some(local) = uses.strip_prefix("$/") {
                ensure!(
                    root.join(local).join("action.yml").is_file(),
                    "{}:{}: no action at {local}",
                    path.display(),
                    i + 1
                );
                continue;
            }
            let (_, rest) = uses.split_once('@').context(format!("{}:{}: {uses}", path.display(), i + 1))?;
            let (sha, comment) = rest.split_once(" # v").unwrap_or((rest, ""));
            ensure!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()) && !comment.is_empty(),
                "{}:{}: `{uses}` is not pinned to a full commit SHA with a `# vX.Y.Z` comment",
                path.display(),
                i + 1
            );
        }
    }

    // The composite actions hold no logic either: their `run:` steps are scripts too.
    for entry in std::fs::read_dir(root.join("pipelines/actions"))? {
        let path = entry?.path().join("action.yml");
        let action = yaml(&path)?;
        let origin = path.strip_prefix(&root).unwrap_or(&path).display().to_string();
        for step in steps(action.get("runs").context(format!("{origin}: no runs"))?) {
            if let Some(run) = text(step, "run") {
                script_call(run, &origin)?;
            }
        }
    }
    Ok(())
}

/// One rehearsal's outcome: its exit code, log and reports.
struct Rehearsal {
    code: i32,
    stderr: String,
    reports: PathBuf,
    summary: String,
}

impl Rehearsal {
    fn report(&self, stage: &str) -> Result<Value> {
        let path = self.reports.join(format!("{stage}.json"));
        let text = std::fs::read_to_string(&path).with_context(|| format!("no report {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not one JSON document: {text}", path.display()))
    }

    fn has_report(&self, stage: &str) -> bool {
        self.reports.join(format!("{stage}.json")).exists()
    }

    fn expect(&self, code: i32, what: &str) -> Result<()> {
        ensure!(
            self.code == code,
            "{what}: the rehearsal exited {} (wanted {code})\nsummary:\n{}\nlog:\n{}",
            self.code,
            self.summary,
            self.stderr
        );
        Ok(())
    }
}

/// The rehearsal against `cloud`, packaging the workspace's binaries with `marker`
/// appended (so that each run ships a release of its own) and `replace`d ones.
fn rehearse(
    cloud: &LocalCloud,
    dir: &Path,
    marker: &str,
    replace: &[(&str, &str)],
    env: &[(&str, &str)],
) -> Result<Rehearsal> {
    let run_dir = dir.join(marker);
    let bins = run_dir.join("bins");
    std::fs::create_dir_all(&bins)?;
    let target = deployer_bin().parent().context("target/debug")?.to_path_buf();
    for name in deployer::release::FUNCTIONS.iter().chain(deployer::release::HOOKS.iter()) {
        let source = replace.iter().find(|(n, _)| n == name).map_or(*name, |(_, b)| *b);
        let mut bytes = std::fs::read(target.join(source)).with_context(|| format!("reading target/debug/{source}"))?;
        bytes.extend_from_slice(format!("\nrelease-marker:pipeline-{marker}\n").as_bytes());
        let path = bins.join(name);
        std::fs::write(&path, bytes)?;
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    }
    let reports = run_dir.join("reports");
    let mut command = Command::new(workspace_root().join("pipelines/scripts/rehearse.sh"));
    command
        .env("LOCALCLOUD_ENDPOINT", cloud.endpoint())
        .env("DEPLOYER", deployer_bin())
        .env("PIPELINE_BIN_DIR", &bins)
        .env("DIST_DIR", run_dir.join("dist"))
        .env("REPORTS_DIR", &reports)
        .env("PIPELINE_APPROVER", "the test suite")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("DEPLOYER_FLAGS")
        .env_remove("DEPLOYER_SETTINGS_DIR")
        .env_remove("PIPELINE_APPROVAL")
        .env_remove("PIPELINE_APPROVAL_REASON")
        .env_remove("LOCALCLOUD_ACCESS_KEY_ID")
        .stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let started = std::time::Instant::now();
    let out = command.output().context("running rehearse.sh")?;
    eprintln!("rehearsal {marker}: exit {:?} in {:.1}s", out.status.code(), started.elapsed().as_secs_f64());
    let summary = std::fs::read_to_string(reports.join("summary.md")).unwrap_or_default();
    Ok(Rehearsal {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        reports,
        summary,
    })
}

/// Each function's live alias in `env`: version and that version's CodeSha256.
async fn live(lambda: &aws_sdk_lambda::Client, env: &str) -> Result<BTreeMap<String, (String, String)>> {
    let mut out = BTreeMap::new();
    for f in FUNCTIONS {
        let name = format!("etl-{env}-{f}");
        let alias = lambda.get_alias().function_name(&name).name("live").send().await?;
        let version = alias.function_version().unwrap_or_default().to_owned();
        let config = lambda.get_function_configuration().function_name(&name).qualifier(&version).send().await?;
        out.insert(f.to_owned(), (version, config.code_sha256().unwrap_or_default().to_owned()));
    }
    Ok(out)
}

fn packaged_code(package: &Value) -> BTreeMap<String, String> {
    FUNCTIONS
        .iter()
        .map(|f| {
            let code = package["functions"]
                .as_array()
                .and_then(|fs| fs.iter().find(|x| x["name"] == *f))
                .and_then(|x| x["code_sha256"].as_str())
                .unwrap_or_default();
            (f.to_string(), code.to_owned())
        })
        .collect()
}

fn code_of(live: &BTreeMap<String, (String, String)>) -> BTreeMap<String, String> {
    live.iter().map(|(f, (_, c))| (f.clone(), c.clone())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rehearsal_runs_the_merge_pipeline_and_stops_at_a_failed_stage() -> Result<()> {
    let started = std::time::Instant::now();
    let cloud = LocalCloud::start_scaled("pipeline", 30.0)?;
    // Not the cloud's own run folder (.run/tests/pipeline-<pid>), which holds its pid
    // files and log.
    let dir = e2e::scratch_dir("pipeline-rehearsal")?;

    // environments/local, as `make pipeline` applies it first: the functions hold the
    // modules' placeholder until the first rehearsal's releases bootstrap them.
    e2e::apply_environments_local(&cloud, &dir, || {
        e2e::script_command(&cloud.endpoint(), &dir, "tf-local.sh").arg("apply").output().expect("running tf-local.sh")
    })?;
    eprintln!("environments/local applied after {:.1}s", started.elapsed().as_secs_f64());
    let endpoint = cloud.endpoint();
    let test = aws_sdk_lambda::Client::new(&account_config(&endpoint, TEST).await);
    let prod = aws_sdk_lambda::Client::new(&account_config(&endpoint, PROD).await);

    // Approved: every stage in order, a report each, prod runs the packaged bytes.
    let run = rehearse(&cloud, &dir, "approved", &[], &[("PIPELINE_APPROVAL", "approve")])?;
    run.expect(0, "an approved rehearsal")?;
    let package = run.report("package")?;
    let release = package["release_id"].as_str().context("package reports a release id")?.to_owned();
    for stage in STAGES {
        let report = run.report(stage)?;
        ensure!(report["exit_code"] == 0 && report["release_id"] == release.as_str(), "{stage}: {report:#}");
        ensure!(run.reports.join(format!("{stage}.junit.xml")).is_file(), "{stage} has no JUnit report");
        ensure!(run.summary.contains(&format!("| {stage} | ✅")), "{stage} is not in the summary:\n{}", run.summary);
    }
    ensure!(run.report("promote-prod")?["source_environment"] == "test");
    ensure!(
        run.summary.contains(&format!("**Done**: release {release} went dev -> test -> prod")),
        "the summary says prod is done:\n{}",
        run.summary
    );
    // The promotion to prod publishes prod's Well-Architected review with its reports.
    let review = run.report("review-prod")?;
    ensure!(review["command"] == "review" && review["exit_code"] == 0, "{review:#}");
    let markdown = std::fs::read_to_string(run.reports.join("review-prod.md")).context("review-prod.md")?;
    ensure!(markdown.contains("## Well-Architected review: prod (account 333333333333)"), "{markdown}");
    ensure!(
        run.summary.contains("**Well-Architected review of prod**: 23 of 25 practices met (`review-prod.md`)"),
        "the summary gives the review's score:\n{}",
        run.summary
    );
    let packaged = packaged_code(&package);
    ensure!(code_of(&live(&prod, "prod").await?) == packaged, "prod runs exactly the packaged bytes");
    let prod_good = live(&prod, "prod").await?;

    // Rejected at the approval: dev and test take the next release, prod does not.
    let run = rehearse(
        &cloud,
        &dir,
        "rejected",
        &[],
        &[("PIPELINE_APPROVAL", "reject"), ("PIPELINE_APPROVAL_REASON", "change freeze")],
    )?;
    run.expect(5, "a rejected approval")?;
    let next = run.report("package")?;
    ensure!(run.report("promote-test")?["exit_code"] == 0, "test took the release");
    ensure!(run.report("approve-prod")?["outcome"] == "rejected");
    ensure!(!run.has_report("promote-prod"), "nothing ran after the rejection");
    for needle in [
        "**Stopped at approve-prod**",
        "rejected by the test suite: change freeze",
        "Nothing is promoted further",
        "Not run: promote-prod.",
    ] {
        ensure!(run.summary.contains(needle), "the summary lacks {needle:?}:\n{}", run.summary);
    }
    ensure!(live(&prod, "prod").await? == prod_good, "prod is unchanged after the rejection");
    let test_next = live(&test, "test").await?;
    ensure!(code_of(&test_next) == packaged_code(&next), "test runs the rejected release");

    // A missing role: test's deploy role does not exist, so promote-test stops before
    // anything changes there, and prod is never reached.
    let settings = dir.join("settings");
    for env in ["dev", "test", "prod"] {
        let text = std::fs::read_to_string(workspace_root().join("environments").join(env).join("deployer.yaml"))?;
        let text =
            if env == "test" { text.replace("deploy_role: deployer", "deploy_role: deployer-missing") } else { text };
        std::fs::create_dir_all(settings.join(env))?;
        std::fs::write(settings.join(env).join("deployer.yaml"), text)?;
    }
    let settings_dir = settings.to_string_lossy().into_owned();
    let run = rehearse(
        &cloud,
        &dir,
        "missing-role",
        &[],
        &[("PIPELINE_APPROVAL", "approve"), ("DEPLOYER_SETTINGS_DIR", &settings_dir)],
    )?;
    run.expect(4, "a missing role")?;
    ensure!(run.report("deploy-dev")?["exit_code"] == 0, "dev still took the release");
    ensure!(!run.has_report("promote-test") && !run.has_report("promote-prod"));
    for needle in [
        "**Stopped at promote-test**",
        "missing role for test",
        "deployer-missing does not exist in account 222222222222",
        "Not run: approve-prod, promote-prod.",
    ] {
        ensure!(run.summary.contains(needle), "the summary lacks {needle:?}:\n{}", run.summary);
    }
    ensure!(live(&test, "test").await? == test_next, "test is unchanged");
    ensure!(live(&prod, "prod").await? == prod_good, "prod is unchanged after the missing role");

    // A failed dev deployment: transform fails its pre-traffic checks, the release is
    // rolled back in dev and goes no further.
    let run =
        rehearse(&cloud, &dir, "failed-dev", &[("transform", "fixture-fail")], &[("PIPELINE_APPROVAL", "approve")])?;
    run.expect(2, "a failed dev deployment")?;
    ensure!(run.report("deploy-dev")?["outcome"] == "rolled_back", "{:#}", run.report("deploy-dev")?);
    ensure!(!run.has_report("promote-test"));
    for needle in [
        "**Stopped at deploy-dev**",
        "the release failed in dev and was rolled back (exit 2)",
        "etl-dev-transform",
        "Not run: promote-test, approve-prod, promote-prod.",
    ] {
        ensure!(run.summary.contains(needle), "the summary lacks {needle:?}:\n{}", run.summary);
    }
    ensure!(live(&test, "test").await? == test_next, "test is unchanged");
    ensure!(live(&prod, "prod").await? == prod_good, "prod is unchanged after the failed dev deployment");

    drop(cloud);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
