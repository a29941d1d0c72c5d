//! The workspace's shape, kept by tests (docs/architecture.md):
//! - topicform-core (spec + plan) cannot do I/O: no crate that can reach a
//!   socket, a runtime, a process or a terminal is among its dependencies,
//!   and its source names no std module that can;
//! - the library does not know the CLI (no clap).

mod support;

use std::collections::BTreeSet;
use std::process::Command;

/// Crates that do I/O, or exist to serve a program rather than data.
const IO_CRATES: &[&str] = &[
    "tokio",
    "mio",
    "socket2",
    "futures",
    "rdkafka",
    "rdkafka-sys",
    "reqwest",
    "hyper",
    "openssl",
    "native-tls",
    "tiny_http",
    "libc",
    "clap",
    "tracing",
    "miette",
    "indicatif",
];

/// The normal (non-dev, non-build) dependencies of `package`, by name.
fn dependencies(package: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(&cargo)
        .args(["tree", "--locked", "--offline", "-e", "normal", "--prefix", "none", "-p", package])
        .current_dir(support::repo())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{cargo} tree`: {e}; it ships with cargo (rustup)"));
    assert!(out.status.success(), "cargo tree -p {package} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_core_crate_depends_on_no_io_crate() {
    let deps = dependencies("topicform-core");
    assert!(deps.contains("marked-yaml") && deps.contains("serde"), "unexpected tree: {deps:?}");
    let io: Vec<&&str> = IO_CRATES.iter().filter(|c| deps.contains(**c)).collect();
    assert!(io.is_empty(), "topicform-core must stay pure, but depends on {io:?}; move that code to crates/topicform");
}

#[test]
fn the_core_source_names_no_std_io() {
    let forbidden = [
        "std::fs",
        "std::net",
        "std::process",
        "std::env",
        "std::io::std",
        "std::thread",
        "std::time::SystemTime",
        "std::time::Instant",
    ];
    let mut found = Vec::new();
    let root = support::repo().join("crates/topicform-core/src");
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Comments may name them (to say where that work happens instead).
            for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim_start().starts_with("//")) {
                if let Some(f) = forbidden.iter().find(|f| line.contains(**f)) {
                    found.push(format!("{}:{}: {f}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "topicform-core reads no file, socket, process, clock or variable:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_library_does_not_know_the_cli() {
    let deps = dependencies("topicform");
    assert!(deps.contains("topicform-core") && deps.contains("rdkafka"), "unexpected tree: {deps:?}");
    for cli in ["clap", "clap_complete", "indicatif", "tracing-subscriber"] {
        assert!(!deps.contains(cli), "the topicform library depends on {cli}; CLI code belongs in src/cli");
    }
}
