//! The Python launcher ministack runs under (`localcloud/python/ministack_launcher.py`).
//! ministack's Step Functions calls Lambda in process; the launcher turns those calls
//! into invokes on the public endpoint, so that workflow traffic gets weighted alias
//! routing, per-version metrics and fault injection like any other invoke. Everything
//! else ministack does is untouched (the launcher's docstring says how).
//!
//! The binary carries the launcher's source and writes it into the run folder when it
//! starts ministack: a `localcloud` binary always runs the launcher it was built with,
//! from any working directory.

use std::io;
use std::path::{Path, PathBuf};

/// The launcher's source, as built into this binary.
pub const SOURCE: &str = include_str!("../python/ministack_launcher.py");

/// The launcher's file name in the run folder.
pub const FILE_NAME: &str = "ministack_launcher.py";

/// The variable that gives the launcher localcloud's public endpoint.
pub const ENDPOINT_ENV: &str = "LOCALCLOUD_LAMBDA_ENDPOINT";

/// The variable that gives the launcher ministack's server keep-alive, in seconds.
pub const KEEP_ALIVE_ENV: &str = "LOCALCLOUD_MINISTACK_KEEP_ALIVE_SECONDS";

/// Writes the launcher into `dir` (replacing an older copy) and returns its path.
pub fn write(dir: &Path) -> io::Result<PathBuf> {
    let path = dir.join(FILE_NAME);
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    std::fs::write(&tmp, SOURCE)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_launcher_reads_the_endpoint_variable_named_here() {
        assert!(SOURCE.contains(&format!("ENDPOINT_ENV = \"{ENDPOINT_ENV}\"")));
    }

    #[test]
    fn the_launcher_reads_the_keep_alive_variable_named_here() {
        assert!(SOURCE.contains(&format!("KEEP_ALIVE_ENV = \"{KEEP_ALIVE_ENV}\"")));
    }
}
