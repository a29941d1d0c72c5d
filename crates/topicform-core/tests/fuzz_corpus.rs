//! Every input kept under `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/` through the fuzz targets' own harness, on
//! stable Rust: a crash the fuzzer once found stays fixed under plain
//! `cargo test`, without nightly or libFuzzer (deploy/fuzz.sh runs those).

#[path = "../../../fuzz/src/lib.rs"]
mod harness;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The inputs of `target`, corpus and regressions, in a stable order.
fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut files: Vec<PathBuf> = ["corpus", "regressions"]
        .iter()
        .map(|kind| fuzz.join(kind).join(target))
        .filter(|dir| dir.is_dir())
        .flat_map(|dir| std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())))
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every input of `target` through `run` and names each one that panics
/// (all of them, not just the first).
fn replay(target: &str, run: fn(&[u8])) {
    let files = inputs(target);
    // An empty list would pass without testing anything: a moved directory.
    assert!(!files.is_empty(), "no inputs under fuzz/corpus/{target} or fuzz/regressions/{target}");
    let crashed: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            catch_unwind(AssertUnwindSafe(|| run(&data))).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        crashed.is_empty(),
        "{} of {} `{target}` inputs panic:\n{}",
        crashed.len(),
        files.len(),
        crashed.join("\n")
    );
}

#[test]
fn every_kept_spec_load_input_loads_without_a_panic() {
    replay("spec_load", harness::spec_load);
}

#[test]
fn every_kept_values_input_parses_without_a_panic() {
    replay("values", harness::values);
}
