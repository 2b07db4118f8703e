//! The ministack launcher's own tests (`localcloud/python/test_ministack_launcher.py`),
//! run with the venv's Python so that they check the launcher against the pinned
//! ministack. The end-to-end behaviour is in `tests/e2e/tests/stepfunctions.rs`.

use localcloud::testing::{python_unit_tests, venv, workspace_root};

#[test]
fn the_launchers_python_tests_pass() {
    let python = venv().join("bin").join("python");
    assert!(python.exists(), "{} is missing: run `make setup`", python.display());
    if let Err(report) = python_unit_tests(&python, &workspace_root().join("localcloud").join("python"), "test*.py") {
        panic!("the launcher's tests failed, or none ran:\n{report}");
    }
}
