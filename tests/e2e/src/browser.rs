//! A real browser for the tests: Debian's Chromium, headless (scripts/setup.sh installs
//! it). It loads a page from a file and answers the DOM after its scripts ran, and
//! the script errors it logged.

use std::path::Path;
use std::process::Command;

use anyhow::{ensure, Context, Result};

/// What Chromium made of a page.
pub struct Rendered {
    /// The DOM after the page's scripts ran.
    pub dom: String,
    /// Console messages that are uncaught script errors.
    pub script_errors: Vec<String>,
}

/// Loads `page` in headless Chromium, with a profile of its own under `scratch`.
pub fn render(page: &Path, scratch: &Path) -> Result<Rendered> {
    let profile = scratch.join("chromium-profile");
    std::fs::create_dir_all(&profile)?;
    // Without the background-networking flags Chromium tries to reach Google's hosts,
    // which this machine's closed network refuses.
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.canonicalize()?.display()))
        .output()
        .context("running chromium (scripts/setup.sh installs Debian's chromium)")?;
    ensure!(out.status.success(), "chromium: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    let script_errors = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE") && (l.contains("Uncaught") || l.contains("Error")))
        .map(str::to_owned)
        .collect();
    Ok(Rendered { dom: String::from_utf8_lossy(&out.stdout).into_owned(), script_errors })
}
