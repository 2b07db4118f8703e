//! The ministack launcher's own tests (`localcloud/python/test_ministack_launcher.py`),
//! run with the venv's Python so that they check the launcher against the pinned
//! ministack. The end-to-end behaviour is in `tests/e2e/tests/stepfunctions.rs`.

use std::process::Command;

use localcloud::testing::{venv, workspace_root};

#[test]
fn the_launchers_python_tests_pass() {
    let python = venv().join("bin").join("python");
    assert!(python.exists(), "{} is missing: run `make setup`", python.display());
    let output = Command::new(&python)
        .args(["-m", "unittest", "discover", "-s"])
        .arg(workspace_root().join("localcloud").join("python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("running python");
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the launcher's tests failed:\n{report}");
    // unittest prints "Ran N tests"; none found would also exit 0 on older Pythons.
    assert!(!report.contains("Ran 0 tests"), "no launcher test ran:\n{report}");
}
