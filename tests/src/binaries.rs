//! Finding `sluice-broker` and `sluice`.
//!
//! A test executable lives in `target/<profile>/deps/`; cargo puts the
//! binaries of the same profile in `target/<profile>/`. `cargo test -p
//! sluice-e2e` does not build other packages' binaries, so before the first
//! use the harness runs `cargo build -p sluice-broker -p sluice-cli` once
//! per test executable, with the same profile and target directory (cargo
//! is the one that built this crate, else `cargo` on the PATH). When
//! nothing changed that takes a fraction of a second; it also means a test
//! never runs a stale binary. If the build fails while both binaries exist
//! (another crate mid-edit), a warning is printed and those binaries are
//! used. `SLUICE_E2E_NO_BUILD=1` skips the build when both exist.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The binaries the tests run.
const BINARIES: [&str; 2] = ["sluice-broker", "sluice"];

/// The path of one of the binaries, building them first if needed.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let dir = profile_dir();
    BUILT.get_or_init(|| {
        let missing = BINARIES.iter().any(|b| !dir.join(b).is_file());
        if !missing && std::env::var_os("SLUICE_E2E_NO_BUILD").is_some() {
            return;
        }
        if let Err(e) = build(dir) {
            // Another crate may be mid-edit: binaries from the last good
            // build still test the CLI and broker, so say so and go on.
            assert!(!missing, "{e}");
            eprintln!(
                "sluice-e2e: WARNING: using existing binaries in {}: {e}",
                dir.display()
            );
        }
    });
    let path = dir.join(name);
    assert!(path.is_file(), "{} does not exist", path.display());
    path
}

/// `target/<profile>`: the parent of the `deps` directory holding the
/// running test executable.
fn profile_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("path of the test executable");
        let deps = exe.parent().expect("test executable has a directory");
        let dir = if deps.ends_with("deps") {
            deps.parent().expect("deps has a parent")
        } else {
            deps
        };
        dir.to_owned()
    })
}

fn build(profile_dir: &Path) -> Result<(), String> {
    let cargo = std::env::var("CARGO")
        .ok()
        .or_else(|| option_env!("CARGO").map(str::to_owned))
        .unwrap_or_else(|| "cargo".to_owned());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "-p", "sluice-broker", "-p", "sluice-cli"]);
    if let (Some(profile), Some(target_dir)) = (
        profile_dir.file_name().and_then(|p| p.to_str()),
        profile_dir.parent(),
    ) {
        match profile {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        cmd.arg("--target-dir").arg(target_dir);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "building the binaries failed: {cmd:?}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
