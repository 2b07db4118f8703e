//! The checklist's SEC 1 (access), SEC 2 (boundaries) and SEC 3 (application security:
//! validation, secrets, dependencies).

use std::collections::BTreeMap;

use super::super::model::{Item, Level};
use super::super::policy;
use super::super::repository;
use super::{Facts, Judge};

// --- SEC 1 ----------------------------------------------------------------------------

pub(super) fn sec1_no_public(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    for ff in &f.env.functions {
        let name = &ff.function.function_name;
        match &ff.policy {
            Ok(None) => j.env(name, "no resource-based policy: only IAM principals of the account may invoke it"),
            Ok(Some(doc)) => match policy::statements(doc) {
                // Lambda answers "not found" for a function without one; the local
                // cloud answers an empty policy.
                Ok(statements) if statements.is_empty() => {
                    j.env(name, "no resource-based policy: only IAM principals of the account may invoke it");
                }
                Ok(statements) => {
                    let open: Vec<String> = statements
                        .iter()
                        .filter(|s| {
                            s.allow && s.principals.iter().any(|p| policy::is_anyone(p)) && s.conditions.is_empty()
                        })
                        .map(|s| s.sid.clone().unwrap_or_else(|| s.actions.join(",")))
                        .collect();
                    if open.is_empty() {
                        j.env(name, format!("resource policy: {} statement(s), none open to anyone", statements.len()));
                    } else {
                        j.problem(format!("{name}: its resource policy lets anyone in ({})", open.join(", ")));
                    }
                }
                Err(e) => j.problem(format!("{name}: {e}")),
            },
            Err(e) => j.problem(format!("{name}'s resource policy could not be read: {e}")),
        }
    }
    j.item(
        "sec1-no-public",
        Level::Required,
        "Use appropriate endpoint types and mechanisms to secure access: no public entry point",
        "no function has a public endpoint or a policy that lets anyone invoke it; runs start only through IAM",
        "remove resource policy statements that let anyone invoke a function (a function URL with auth NONE, Principal *)",
    )
}

pub(super) fn sec1_scoped_callers(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    // The live alias, or every qualified ARN (`NAME:*`: the versions the routing record
    // names and the aliases) as etl-workflow grants for one execution, one release;
    // never the unqualified function, which runs whatever was last uploaded.
    let qualified: Vec<String> = f
        .settings
        .functions
        .iter()
        .flat_map(|fun| {
            [
                format!("function:{}:{}", fun.function_name, crate::settings::ALIAS),
                format!("function:{}:*", fun.function_name),
            ]
        })
        .collect();
    match &f.env.workflow_role {
        Ok(Some(role)) => {
            for (name, doc) in &role.inline_policies {
                match policy::statements(doc) {
                    Ok(statements) => {
                        for s in
                            statements.iter().filter(|s| s.allow && s.actions.iter().any(|a| a.starts_with("lambda:")))
                        {
                            let outside: Vec<&String> = s
                                .resources
                                .iter()
                                .filter(|r| !qualified.iter().any(|q| r.ends_with(q.as_str())))
                                .collect();
                            if outside.is_empty() {
                                j.env(
                                    &role.name,
                                    format!(
                                        "{name}: {} on the functions' versions and aliases only",
                                        s.actions.join(", ")
                                    ),
                                );
                            } else {
                                j.problem(format!(
                                    "{}: {} also on {}",
                                    role.name,
                                    s.actions.join(", "),
                                    outside.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
                                ));
                            }
                        }
                    }
                    Err(e) => j.problem(format!("{}/{name}: {e}", role.name)),
                }
            }
            if !role.attached_policies.is_empty() {
                j.problem(format!(
                    "{} has managed policies attached: {}",
                    role.name,
                    role.attached_policies.join(", ")
                ));
            }
        }
        Ok(None) => j.problem("the state machine's role was not found"),
        Err(e) => j.problem(format!("the state machine's role could not be read: {e}")),
    }
    j.item(
        "sec1-scoped-callers",
        Level::Good,
        "Use authentication and authorization mechanisms: every caller scoped by IAM",
        "the workflow's role may invoke only the functions' published versions and aliases",
        "let the state machine's role invoke only the functions' versions and aliases, never the unqualified function (etl-workflow's iam.tf)",
    )
}

pub(super) fn sec1_identity(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    let env = &f.settings.environment;
    let suffix = format!(":environment:{env}");
    match &f.env.deploy_role {
        Ok(Some(role)) => match policy::statements(&role.trust_policy) {
            Ok(statements) => {
                for s in statements.iter().filter(|s| s.allow) {
                    if s.principals.iter().any(|p| p.starts_with("Federated:")) {
                        let pinned = s.conditions.iter().find(|c| {
                            c.starts_with("StringEquals ")
                                && c.contains(":sub = ")
                                && c.rsplit(" = ").next().is_some_and(|v| v.ends_with(&suffix) && !v.contains('*'))
                        });
                        match pinned {
                            Some(c) => j.env(
                                &role.name,
                                format!("web identity only for {}", c.rsplit(" = ").next().unwrap_or_default()),
                            ),
                            None => j.problem(format!(
                                "{}: a web identity is trusted without pinning its subject to the {env} environment",
                                role.name
                            )),
                        }
                    } else if s.principals.iter().any(|p| policy::is_anyone(p) || p.ends_with(":root")) {
                        j.problem(format!(
                            "{} trusts a whole account or anyone: {}",
                            role.name,
                            s.principals.join(", ")
                        ));
                    } else if !s.principals.is_empty() {
                        let roles: Vec<&str> = s.principals.iter().map(|p| p.rsplit('/').next().unwrap_or(p)).collect();
                        j.env(&role.name, format!("assumable by the roles {}", roles.join(", ")));
                    }
                }
            }
            Err(e) => j.problem(format!("{}'s trust policy: {e}", role.name)),
        },
        Ok(None) => j.problem(format!("the deploy role {} was not found", f.settings.deploy_role_arn)),
        Err(e) => j.problem(format!("the deploy role could not be read: {e}")),
    }
    j.item(
        "sec1-identity",
        Level::Best,
        "Scope access based on identity's metadata",
        "only named roles and CI jobs bound to this environment (their OIDC subject) may assume the deploy role",
        "trust the deploy role to named roles and to GitHub OIDC tokens whose subject is this environment only (deploy-role module)",
    )
}

// --- SEC 2 ----------------------------------------------------------------------------

/// An environment variable whose name says it holds a credential or a secret.
fn secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["SECRET", "PASSWORD", "PASSWD", "TOKEN", "PRIVATE", "ACCESS_KEY", "API_KEY", "CREDENTIAL"]
        .iter()
        .any(|w| upper.contains(w))
}

pub(super) fn sec2_temporary_credentials(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    for (ff, config) in f.configs() {
        let name = &ff.function.function_name;
        match config {
            Ok(c) => {
                let keys: Vec<&String> =
                    c.environment.keys().filter(|k| k.starts_with("AWS_") || secret_name(k)).collect();
                match (&c.role, keys.is_empty()) {
                    (Some(role), true) => j.env(name, format!("runs as {}; no credential in its environment", role)),
                    (None, _) => j.problem(format!("{name} has no execution role")),
                    (_, false) => j.problem(format!(
                        "{name} keeps credentials in its environment: {}",
                        keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                    )),
                }
            }
            Err(e) => j.problem(format!("{name} could not be read: {e}")),
        }
    }
    j.item(
        "sec2-temporary-credentials",
        Level::Required,
        "Use temporary credentials between resources and components",
        "every function acts through its execution role's temporary credentials",
        "run every function with its IAM execution role; never keys in its environment",
    )
}

pub(super) fn sec2_least_privilege(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for ff in &f.env.functions {
        let name = &ff.function.function_name;
        match &ff.role {
            Ok(Some(role)) => {
                if let Some(other) = seen.insert(role.name.clone(), name.clone()) {
                    j.problem(format!("{other} and {name} share the role {}", role.name));
                }
                if !role.attached_policies.is_empty() {
                    j.problem(format!(
                        "{}: managed policies attached: {}",
                        role.name,
                        role.attached_policies.join(", ")
                    ));
                }
                let mut statements = 0;
                for (policy_name, doc) in &role.inline_policies {
                    match policy::excess(doc) {
                        Ok(excess) if excess.is_empty() => {
                            statements += policy::statements(doc).map_or(0, |s| s.len());
                        }
                        Ok(excess) => j.problem(format!("{}/{policy_name}: {}", role.name, excess.join("; "))),
                        Err(e) => j.problem(format!("{}/{policy_name}: {e}", role.name)),
                    }
                }
                if role.inline_policies.is_empty() && role.attached_policies.is_empty() {
                    j.problem(format!("{} grants nothing: the function cannot work", role.name));
                }
                j.env(
                    &role.name,
                    format!("{name}'s own role: {statements} statement(s), named resources (only X-Ray on *), no managed policy"),
                );
            }
            Ok(None) => j.problem(format!("{name}'s role was not found")),
            Err(e) => j.problem(format!("{name}'s role could not be read: {e}")),
        }
    }
    j.item(
        "sec2-least-privilege",
        Level::Good,
        "Design smaller, single purpose functions, each with its own least-privilege role",
        "each function has its own role, granting only its own actions on named resources",
        "one role per function with only that step's actions on named resources (etl-workflow's iam.tf), no managed policy",
    )
}

// --- SEC 3 ----------------------------------------------------------------------------

pub(super) fn sec3_validate(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    j.file(
        f.repo,
        repository::RUNTIME,
        &["fn decode", "InvalidInput"],
        "every event is decoded into the function's typed request; one that does not fit fails as InvalidInput",
    );
    j.file(
        f.repo,
        repository::TRANSFORM,
        &["quarantine"],
        "every record is validated; an invalid one is quarantined with its reason, never curated",
    );
    let transform = f.function_name("transform");
    match f.configs().find(|(ff, _)| Some(ff.function.function_name.as_str()) == transform) {
        Some((ff, Ok(c))) => match c.environment.get("QUARANTINE_BUCKET") {
            Some(bucket) => j.env(&ff.function.function_name, format!("quarantines into {bucket}")),
            None => j.problem(format!("{} has no QUARANTINE_BUCKET", ff.function.function_name)),
        },
        Some((ff, Err(e))) => j.problem(format!("{} could not be read: {e}", ff.function.function_name)),
        None => j.problem("no transform function in the settings"),
    }
    j.item(
        "sec3-validate",
        Level::Required,
        "Validate inbound events",
        "events are decoded into typed requests and every record is validated, invalid ones quarantined",
        "decode each event into a typed request and quarantine invalid records",
    )
}

pub(super) fn sec3_secrets(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    for (ff, config) in f.configs() {
        let name = &ff.function.function_name;
        match config {
            Ok(c) => {
                let secret: Vec<&String> = c.environment.keys().filter(|k| secret_name(k)).collect();
                if secret.is_empty() {
                    j.env(name, format!("{} environment variable(s), none named like a secret", c.environment.len()));
                } else {
                    j.problem(format!(
                        "{name}: environment variables named like secrets: {}",
                        secret.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                    ));
                }
            }
            Err(e) => j.problem(format!("{name} could not be read: {e}")),
        }
    }
    j.item(
        "sec3-secrets",
        Level::Good,
        "Store secrets that are used in your code securely",
        "no function keeps a secret in its configuration (they hold names and flags only)",
        "keep secrets in Secrets Manager or SSM Parameter Store and read them at run time, not in environment variables",
    )
}

pub(super) fn sec3_dependencies(f: &Facts<'_>) -> Item {
    let mut j = Judge::default();
    j.file(
        f.repo,
        repository::DENY,
        &["[licenses]", "allow", "[bans]", "[sources]", "[advisories]"],
        "cargo-deny's policy: allowed licenses, banned crates, allowed sources, advisories",
    );
    j.file(
        f.repo,
        repository::TEST_SCRIPT,
        &["cargo-deny", "check", "licenses bans sources"],
        "`make test` checks licenses, bans and sources (offline)",
    );
    j.file(
        f.repo,
        repository::DEPENDENCY_SCRIPT,
        &["cargo-deny", "advisories"],
        "checks every dependency, the RustSec advisories included",
    );
    match f.repo.file(repository::PULL_REQUEST_WORKFLOW).map_err(str::to_owned).and_then(repository::jobs) {
        Ok(jobs) => match jobs.iter().find(|job| job.runs.iter().any(|r| r.contains("dependencies.sh"))) {
            Some(job) => j.repo(
                repository::PULL_REQUEST_WORKFLOW,
                format!("job {} runs {} on every pull request", job.name, repository::DEPENDENCY_SCRIPT),
            ),
            None => j.problem(format!("{} does not review the dependencies", repository::PULL_REQUEST_WORKFLOW)),
        },
        Err(e) => j.problem(format!("{}: {e}", repository::PULL_REQUEST_WORKFLOW)),
    }
    j.item(
        "sec3-dependencies",
        Level::Best,
        "Automatically review the workload's code dependencies",
        "cargo-deny checks licenses, bans and sources in `make test`, and the advisories on every pull request",
        "cargo-deny (deny.toml) in `make test` for licenses, bans and sources, and with its advisories in the pull-request workflow",
    )
}
