//! The `localcloud` lifecycle commands as an operator runs them: each test gets its
//! own run folder and free ports, and stops what it started.

// Test helpers unwrap too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use localcloud::probe;
use localcloud::process::{self, group_members, processes_of_instance, read_pid};
use localcloud::testing::{free_port, venv, workspace_root};

struct Instance {
    run_dir: PathBuf,
    port: u16,
    ministack_port: u16,
    venv: PathBuf,
    /// LOCALCLOUD_FAULTS for the commands (none: the caller's is removed).
    faults: Option<String>,
}

impl Instance {
    fn new(name: &str) -> Self {
        let run_dir =
            workspace_root().join(".run").join("tests").join(format!("lifecycle-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&run_dir);
        Self { run_dir, port: free_port().unwrap(), ministack_port: free_port().unwrap(), venv: venv(), faults: None }
    }

    fn run(&self, command: &str) -> Output {
        self.run_args(&[command])
    }

    fn run_args(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_localcloud"));
        match &self.faults {
            Some(spec) => command.env("LOCALCLOUD_FAULTS", spec),
            None => command.env_remove("LOCALCLOUD_FAULTS"),
        };
        command
            .args(args)
            .env("LOCALCLOUD_RUN_DIR", &self.run_dir)
            .env("LOCALCLOUD_VENV", &self.venv)
            .env("LOCALCLOUD_PORT", self.port.to_string())
            .env("LOCALCLOUD_MINISTACK_PORT", self.ministack_port.to_string())
            .output()
            .expect("running localcloud")
    }

    fn pid(&self, name: &str) -> Option<i32> {
        read_pid(&self.run_dir.join(format!("{name}.pid")))
    }

    fn instance(&self) -> String {
        self.run_dir.display().to_string()
    }

    fn public(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn assert_nothing_running(&self) {
        assert_eq!(processes_of_instance(&self.instance()), Vec::<i32>::new(), "no process of ours is left");
        for name in ["ministack", "localcloud"] {
            assert!(!self.run_dir.join(format!("{name}.pid")).exists(), "{name}.pid is removed");
        }
        for port in [self.port, self.ministack_port] {
            assert!(TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok(), "port {port} is free again");
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.run("down");
        let _ = std::fs::remove_dir_all(&self.run_dir);
    }
}

fn ok(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn up_twice_leaves_one_emulator_and_down_stops_everything() {
    let cloud = Instance::new("twice");
    assert!(ok(&cloud.run("up")).contains("local cloud up at"));
    let (ministack, front) = (cloud.pid("ministack").unwrap(), cloud.pid("localcloud").unwrap());
    assert!(probe::healthy(cloud.public(), "/_ministack/health"), "ministack answers through the public endpoint");

    let second = ok(&cloud.run("up"));
    assert!(second.contains("already running"), "{second}");
    assert_eq!((cloud.pid("ministack"), cloud.pid("localcloud")), (Some(ministack), Some(front)));
    let mut ours = processes_of_instance(&cloud.instance());
    ours.sort_unstable();
    let mut expected = vec![ministack, front];
    expected.sort_unstable();
    assert_eq!(ours, expected, "exactly one emulator and one front");

    assert!(ok(&cloud.run("status")).contains("running at"));
    assert!(ok(&cloud.run("down")).contains("stopped"));
    assert!(group_members(ministack).is_empty() && group_members(front).is_empty(), "whole process groups stopped");
    cloud.assert_nothing_running();
    assert_eq!(cloud.run("status").status.code(), Some(6), "status says not running with its own exit code");
    assert!(ok(&cloud.run("down")).contains("was not running"), "down is idempotent");
}

#[test]
fn the_run_folder_with_a_trailing_slash_is_the_same_cloud() {
    let mut cloud = Instance::new("slash");
    ok(&cloud.run("up"));
    let plain = cloud.run_dir.clone();
    cloud.run_dir = std::path::PathBuf::from(format!("{}/", plain.display()));
    assert!(ok(&cloud.run("up")).contains("already running"));
    assert!(ok(&cloud.run("down")).contains("stopped"));
    cloud.run_dir = plain;
    cloud.assert_nothing_running();
}

#[test]
fn concurrent_ups_start_one_cloud() {
    let cloud = Instance::new("concurrent");
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let (dir, venv, port, ms) = (cloud.run_dir.clone(), cloud.venv.clone(), cloud.port, cloud.ministack_port);
            std::thread::spawn(move || {
                Command::new(env!("CARGO_BIN_EXE_localcloud"))
                    .arg("up")
                    .env("LOCALCLOUD_RUN_DIR", dir)
                    .env("LOCALCLOUD_VENV", venv)
                    .env("LOCALCLOUD_PORT", port.to_string())
                    .env("LOCALCLOUD_MINISTACK_PORT", ms.to_string())
                    .output()
                    .unwrap()
            })
        })
        .collect();
    let outputs: Vec<String> = handles.into_iter().map(|h| ok(&h.join().unwrap())).collect();
    assert_eq!(outputs.iter().filter(|o| o.contains("local cloud up at")).count(), 1, "{outputs:?}");
    assert_eq!(processes_of_instance(&cloud.instance()).len(), 2);
}

#[test]
fn reset_empties_state_and_keeps_running() {
    let cloud = Instance::new("reset");
    ok(&cloud.run("up"));
    let (status, _) = probe::request(cloud.public(), "PUT", "/reset-probe-bucket", Duration::from_secs(5)).unwrap();
    assert_eq!(status, 200);
    let list = || probe::request(cloud.public(), "GET", "/", Duration::from_secs(5)).unwrap().1;
    assert!(list().contains("<Name>reset-probe-bucket</Name>"));

    assert!(ok(&cloud.run("reset")).contains("reset"));
    assert!(!list().contains("reset-probe-bucket"), "the bucket is gone after reset");
    assert!(ok(&cloud.run("status")).contains("running at"), "reset keeps the cloud running");
}

#[test]
fn reset_when_down_says_so() {
    let cloud = Instance::new("reset-down");
    let out = cloud.run("reset");
    assert_eq!(out.status.code(), Some(6));
    assert!(stderr(&out).contains("make up"), "{}", stderr(&out));
}

#[test]
fn stale_pid_files_and_a_half_running_cloud_are_handled() {
    let cloud = Instance::new("stale");
    std::fs::create_dir_all(&cloud.run_dir).unwrap();
    // A stranger holds the recorded pid: it must be left alone.
    let mut stranger = Command::new("sleep").arg("30").spawn().unwrap();
    let stranger_pid = stranger.id() as i32;
    std::fs::write(cloud.run_dir.join("ministack.pid"), format!("{stranger_pid}\n")).unwrap();
    std::fs::write(cloud.run_dir.join("localcloud.pid"), "999999999\n").unwrap();

    assert!(ok(&cloud.run("up")).contains("local cloud up at"));
    assert!(process::is_alive(stranger_pid), "a process we did not start is never signalled");
    assert_ne!(cloud.pid("ministack"), Some(stranger_pid));

    // The front dies: the next `up` restarts it alone, keeping the emulator and its state.
    let ministack = cloud.pid("ministack").unwrap();
    let front = cloud.pid("localcloud").unwrap();
    let (status, _) = probe::request(cloud.public(), "PUT", "/kept-bucket", Duration::from_secs(5)).unwrap();
    assert_eq!(status, 200);
    process::terminate_group(front, Duration::from_secs(2));
    let again = ok(&cloud.run("up"));
    assert!(again.contains("local cloud up at"), "{again}");
    assert_eq!(cloud.pid("ministack"), Some(ministack), "the emulator was kept");
    assert_ne!(cloud.pid("localcloud"), Some(front));
    assert_eq!(processes_of_instance(&cloud.instance()).len(), 2);
    let list = probe::request(cloud.public(), "GET", "/", Duration::from_secs(5)).unwrap().1;
    assert!(list.contains("<Name>kept-bucket</Name>"), "state survived the front's restart");

    // The emulator dies: the next `up` starts the pair afresh.
    process::terminate_group(ministack, Duration::from_secs(2));
    ok(&cloud.run("up"));
    assert_ne!(cloud.pid("ministack"), Some(ministack));
    assert_eq!(processes_of_instance(&cloud.instance()).len(), 2, "no duplicate front or emulator");

    ok(&cloud.run("down"));
    cloud.assert_nothing_running();
    assert!(process::is_alive(stranger_pid));
    stranger.kill().unwrap();
    stranger.wait().unwrap();
}

#[test]
fn port_taken_fails_with_a_clear_message_and_leaves_nothing_running() {
    let cloud = Instance::new("port-taken");
    let squatter = TcpListener::bind((Ipv4Addr::LOCALHOST, cloud.port)).unwrap();
    let out = cloud.run("up");
    assert_eq!(out.status.code(), Some(3), "distinct exit code for a taken port");
    let message = stderr(&out);
    assert!(message.contains(&format!("127.0.0.1:{}", cloud.port)), "names the port: {message}");
    assert!(message.contains("LOCALCLOUD_PORT"), "says how to pick another: {message}");
    drop(squatter);
    cloud.assert_nothing_running();
}

#[test]
fn missing_python_fails_with_a_clear_message_and_leaves_nothing_running() {
    let mut cloud = Instance::new("no-python");
    cloud.venv = Path::new("/nonexistent/venv").to_path_buf();
    let out = cloud.run("up");
    assert_eq!(out.status.code(), Some(4), "distinct exit code for a missing Python");
    let message = stderr(&out);
    assert!(message.contains("/nonexistent/venv") && message.contains("make setup"), "{message}");
    cloud.assert_nothing_running();
}

#[test]
fn a_bad_fault_spec_is_refused_before_anything_starts() {
    let mut cloud = Instance::new("bad-faults");
    cloud.faults = Some("throttle=lots,seed=7".into());
    let out = cloud.run("up");
    assert_eq!(out.status.code(), Some(2), "distinct exit code for bad input");
    let message = stderr(&out);
    assert!(message.contains("LOCALCLOUD_FAULTS") && message.contains("throttle=lots is not a rate"), "{message}");
    assert!(message.contains("Fix: give a fraction between 0 and 1"), "names the fix: {message}");
    cloud.assert_nothing_running();
}

#[test]
fn faults_are_reported_by_status_and_set_while_running() {
    let mut cloud = Instance::new("faults");
    cloud.faults = Some("error=1,service=s3,operation=ListBuckets".into());
    ok(&cloud.run("up"));
    // The seed was drawn at `up` and recorded, so the run can be replayed.
    let endpoint: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cloud.run_dir.join("endpoint.json")).unwrap()).unwrap();
    let spec = endpoint["faults"].as_str().unwrap().to_owned();
    assert!(spec.starts_with("error=1,service=s3,operation=ListBuckets,seed="), "{spec}");
    assert!(ok(&cloud.run("status")).contains(&format!("LOCALCLOUD_FAULTS={spec}")));

    // Unsigned requests belong to no service: the s3 rule leaves them alone.
    let (status, _) = probe::request(cloud.public(), "GET", "/", Duration::from_secs(5)).unwrap();
    assert_eq!(status, 200);
    // Every request, whatever its service, gets an empty 500 now.
    ok(&cloud.run_args(&["faults", "error=1,seed=3"]));
    let (status, body) = probe::request(cloud.public(), "GET", "/", Duration::from_secs(5)).unwrap();
    assert_eq!((status, body.as_str()), (500, ""));
    assert_eq!(
        probe::request(cloud.public(), "GET", "/_ministack/health", Duration::from_secs(5)).unwrap().0,
        200,
        "the emulator's own endpoints are never faulted"
    );

    let json: serde_json::Value = serde_json::from_str(&ok(&cloud.run_args(&["status", "--output", "json"]))).unwrap();
    assert_eq!(json["faults"]["spec"], "error=1,seed=3");
    assert_eq!(json["faults"]["services"]["unknown"]["error"], 1);
    assert_eq!(json["faults"]["total"]["requests"], 1, "only requests a rule matched are counted: {json}");
    assert!(ok(&cloud.run_args(&["faults", "off"])).contains("fault injection: off"));
    assert_eq!(probe::request(cloud.public(), "GET", "/", Duration::from_secs(5)).unwrap().0, 200);

    let refused = cloud.run_args(&["faults", "reset=2"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    ok(&cloud.run("down"));
    assert_eq!(cloud.run_args(&["faults"]).status.code(), Some(6), "not running");
}

#[test]
fn a_tests_cloud_resets_without_probing_first() {
    let cloud = localcloud::testing::LocalCloud::start("testing-reset").unwrap();
    let public: SocketAddr = cloud.endpoint().trim_start_matches("http://").parse().unwrap();
    let (status, _) = probe::request(public, "PUT", "/testing-reset-bucket", Duration::from_secs(5)).unwrap();
    assert_eq!(status, 200);
    let list = || probe::request(public, "GET", "/", Duration::from_secs(5)).unwrap().1;
    assert!(list().contains("<Name>testing-reset-bucket</Name>"));

    cloud.reset().unwrap();
    assert!(!list().contains("testing-reset-bucket"), "the bucket is gone after reset");
}
