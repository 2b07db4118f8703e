//! Process bookkeeping for the daemons the lifecycle starts: pid files, liveness,
//! and stopping a whole process group (ministack's Lambda workers live in its group).

use std::fs;
use std::io;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

/// The environment variable every daemon we start carries, set to the absolute run
/// folder. It lets us tell our processes from a stranger that reused a stale pid.
pub const INSTANCE_MARKER: &str = "LOCALCLOUD_INSTANCE";

pub fn read_pid(path: &Path) -> Option<i32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

pub fn write_pid(path: &Path, pid: u32) -> io::Result<()> {
    let tmp = path.with_extension("pid.tmp");
    fs::write(&tmp, format!("{pid}\n"))?;
    fs::rename(tmp, path)
}

/// Alive and not a zombie.
pub fn is_alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// The value of [`INSTANCE_MARKER`] in a process's environment, if it has one.
pub fn instance_of(pid: i32) -> Option<String> {
    let environ = fs::read(format!("/proc/{pid}/environ")).ok()?;
    let prefix = format!("{INSTANCE_MARKER}=");
    environ
        .split(|b| *b == 0)
        .filter_map(|entry| std::str::from_utf8(entry).ok())
        .find_map(|entry| entry.strip_prefix(&prefix).map(str::to_owned))
}

/// True when `pid` is alive and was started by us for this run folder.
pub fn is_ours(pid: i32, instance: &str) -> bool {
    is_alive(pid) && instance_of(pid).as_deref() == Some(instance)
}

/// Every live process in the process group `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| process_group(*pid) == Some(pgid) && is_alive(*pid))
        .collect()
}

/// Every live process whose environment carries our marker for `instance`.
pub fn processes_of_instance(instance: &str) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| is_ours(*pid, instance))
        .collect()
}

fn process_group(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    // After the name: state, ppid, pgrp.
    rest.split_whitespace().nth(2)?.parse().ok()
}

#[allow(unsafe_code)]
fn kill_group(pgid: i32, signal: i32) {
    // SAFETY: kill(2) takes plain integers and has no memory-safety preconditions;
    // a negative pid addresses the process group. Errors (ESRCH) are expected when
    // the group is already gone and are deliberately ignored.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// Stops the process group led by `pgid`: SIGTERM, then SIGKILL after `grace`.
/// Returns once no member of the group is alive (or after a hard deadline).
pub fn terminate_group(pgid: i32, grace: Duration) {
    kill_group(pgid, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if group_members(pgid).is_empty() {
            return;
        }
        thread::sleep(Duration::from_millis(50));
    }
    kill_group(pgid, libc::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && !group_members(pgid).is_empty() {
        thread::sleep(Duration::from_millis(20));
    }
}
