//! The committed seed corpora are what `sluice_fuzz::*::seeds` builds, and every seed (and
//! every input in `artifacts-fixed/`, once a found crash is fixed) runs through its target
//! without a panic, on a stable toolchain and without libFuzzer.
//!
//! `SLUICE_FUZZ_WRITE_SEEDS=1 cargo test --test seeds` rewrites `seeds/` from the builders.

use std::collections::BTreeMap;
use std::path::Path;

fn committed(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| e.unwrap_or_else(|e| panic!("{}: {e}", dir.display())))
        .filter(|e| e.path().is_file())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(e.path()).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, bytes)
        })
        .collect()
}

#[test]
fn seeds_are_current_and_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let write = std::env::var_os("SLUICE_FUZZ_WRITE_SEEDS").is_some();
    for target in sluice_fuzz::TARGETS {
        let (run, name) = (target.run, target.name);
        let dir = root.join(name);
        let built: BTreeMap<String, Vec<u8>> = (target.seeds)().into_iter().collect();
        for (seed, input) in &built {
            run(input);
            assert!(!seed.contains('/'), "{name}: seed name {seed}");
        }
        if write {
            if dir.exists() {
                std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{name}: {e}"));
            for (seed, input) in &built {
                std::fs::write(dir.join(seed), input).unwrap_or_else(|e| panic!("{seed}: {e}"));
            }
        }
        let on_disk = committed(&dir);
        assert_eq!(
            on_disk.keys().collect::<Vec<_>>(),
            built.keys().collect::<Vec<_>>(),
            "{name}: seeds/ is stale; rerun with SLUICE_FUZZ_WRITE_SEEDS=1"
        );
        for (seed, input) in &on_disk {
            // Storage seeds come from a log the test writes; their bytes are stable too.
            assert_eq!(
                Some(input),
                built.get(seed),
                "{name}/{seed} is stale; rerun with SLUICE_FUZZ_WRITE_SEEDS=1"
            );
        }
    }
}

#[test]
fn fixed_crashes_stay_fixed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts-fixed");
    for target in sluice_fuzz::TARGETS {
        for (_, input) in committed(&root.join(target.name)) {
            (target.run)(&input);
        }
    }
}
