//! Who holds the release lock: user, host, pid, and the CI run when there is one; and
//! whether a holder is a process on this host that has died (its lock may be taken).

/// Who this process is, for the lock.
pub fn holder_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|| "unknown-host".into());
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let ci = std::env::var("GITHUB_RUN_ID")
        .map(|id| format!(" (GitHub run {id})"))
        .or_else(|_| std::env::var("CODEBUILD_BUILD_ID").map(|id| format!(" (CodeBuild {id})")))
        .unwrap_or_default();
    format!("{user}@{host}:{}{ci}", std::process::id())
}

/// True when `holder` names a process on this host that no longer exists.
pub fn holder_died_here(holder: &str) -> bool {
    let mine = holder_id();
    let host_of = |h: &str| h.split('@').nth(1).and_then(|r| r.split(':').next()).map(str::to_owned);
    let pid = holder.split(':').nth(1).and_then(|r| r.split_whitespace().next()).and_then(|p| p.parse::<u32>().ok());
    match (host_of(holder), host_of(&mine), pid) {
        (Some(theirs), Some(ours), Some(pid)) if theirs == ours && pid != std::process::id() => {
            std::path::Path::new("/proc/self").exists() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_dead_process_on_this_host_is_a_stale_holder() {
        let me = holder_id();
        assert!(!holder_died_here(&me), "this process is alive");
        let host = me.split('@').nth(1).and_then(|r| r.split(':').next()).unwrap().to_owned();
        assert!(holder_died_here(&format!("ci@{host}:{}", u32::MAX - 7)), "no such pid");
        assert!(!holder_died_here(&format!("ci@another-host-x:{}", u32::MAX - 7)), "another host: cannot tell");
        assert!(!holder_died_here("garbage"));
    }
}
