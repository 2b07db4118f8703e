//! The set-up script on a machine without a usable Python: a clear message, its own
//! exit code, and nothing changed.

use std::process::Command;

use localcloud::testing::workspace_root;

#[test]
fn setup_without_python_names_the_problem_and_the_fix() {
    let out = Command::new(workspace_root().join("scripts").join("setup.sh"))
        .env("PYTHON", "/nonexistent/python3")
        .output()
        .expect("running setup.sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "distinct exit code; stderr: {stderr}");
    assert!(stderr.contains("/nonexistent/python3") && stderr.contains("apt-get install python3"), "{stderr}");
}
