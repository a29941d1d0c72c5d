//! Benchmark of `plan` and `apply` against Azure Event Hubs, through the local
//! ARM contract server of the tests (tests/support/arm.rs, which validates
//! every request against Microsoft's REST specification) with tokens from the
//! test identity provider (tests/support/idp.rs).
//!
//! Run with `cargo bench --bench eventhubs` (see docs/benchmarks.md). One
//! dedicated namespace, the largest there is: 1,000 event hubs whatever its
//! capacity units, so 10,000 topics cannot exist on Event Hubs (`validate`
//! refuses such a spec before any call). Scenarios:
//!
//! 1. `apply` creating 100 event hubs in an empty namespace;
//! 2. `plan` of 100 in-sync event hubs;
//! 3. `apply` creating the 900 more of the 1,000-topic spec;
//! 4. `plan` of 1,000 in-sync event hubs (10 pages of `nextLink`).
//!
//! What it measures is topicform's side (requests, concurrency, paging,
//! mapping) plus a local server's; against Azure, each ARM call adds the
//! network and the service's own latency.

#[path = "../tests/support/arm.rs"]
mod arm;
#[path = "../tests/support/idp.rs"]
mod idp;
// arm.rs and idp.rs register the secrets they see with the tests' secret
// scan, at `crate::support::secrets`; nothing here scans.
#[path = "../tests/support/secrets.rs"]
#[allow(dead_code)]
mod secrets;
mod support {
    pub(crate) use super::secrets;
}
#[path = "support/measure.rs"]
mod measure;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use measure::{print_table, secs, topicform, Row, Sample};

const REPEATS: usize = 3;

fn write_spec(dir: &Path, server: &arm::ArmServer, idp: &idp::Idp, n: usize) -> Result<PathBuf, String> {
    let ns = server.namespace();
    let mut s = format!(
        "version: 1\ndefaults:\n  partitions: 1\n  replicationFactor: 1\nenvironments:\n  bench:\n    cluster:\n      type: eventhubs\n      namespace: {}\n      tier: dedicated\n      subscriptionId: {}\n      resourceGroup: {}\n      armEndpoint: {}\n      authorityHost: {}\n      management: {{ credential: clientSecret, clientSecret: {{ env: AZURE_CLIENT_SECRET }} }}\ntopics:\n",
        ns.name, ns.subscription, ns.resource_group, server.url, idp.authority_host
    );
    for i in 0..n {
        s.push_str(&format!("  bench-t{i:05}: {{ config: {{ retention.ms: {}h }} }}\n", i % 168 + 1));
    }
    let path = dir.join(format!("eventhubs-{n}.yaml"));
    std::fs::write(&path, s).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

struct Bench {
    dir: PathBuf,
    envs: Vec<(String, String)>,
    rows: Vec<Row>,
}

impl Bench {
    fn run_ok(&self, label: &str, args: &[&str], expect: i32) -> Result<Sample, String> {
        let outcome = topicform(&self.dir, label, args, &self.envs)?;
        if outcome.code != Some(expect) {
            return Err(outcome.failure(&format!("`topicform {}` ({label})", args[0])));
        }
        Ok(outcome.sample)
    }

    fn apply(&mut self, spec: &Path, scenario: &str, topics: usize) -> Result<(), String> {
        let spec = spec.to_str().ok_or("temporary path is not UTF-8")?;
        let sample =
            self.run_ok(&format!("apply-{topics}"), &["apply", "-e", "bench", "--auto-approve", "-f", spec], 0)?;
        self.rows.push(Row {
            scenario: scenario.into(),
            topics,
            samples: vec![sample],
            wall_target: None,
            info: false,
        });
        Ok(())
    }

    fn plan(&mut self, spec: &Path, topics: usize) -> Result<(), String> {
        let spec = spec.to_str().ok_or("temporary path is not UTF-8")?;
        let args = ["plan", "-e", "bench", "--detailed-exitcode", "-f", spec];
        self.run_ok(&format!("plan-{topics}-warmup"), &args, 0)?;
        let mut samples = Vec::new();
        for i in 1..=REPEATS {
            samples.push(self.run_ok(&format!("plan-{topics}-run{i}"), &args, 0)?);
        }
        self.rows.push(Row { scenario: "plan, in sync".into(), topics, samples, wall_target: None, info: false });
        Ok(())
    }
}

fn main() -> ExitCode {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("eventhubs: skipped; run it with `cargo bench --bench eventhubs`");
        return ExitCode::SUCCESS;
    }
    let started = Instant::now();
    let dir = tempfile::Builder::new().prefix("topicform-bench-eh-").tempdir().expect("a temporary directory");
    let idp = Arc::new(idp::Idp::start());
    let mut ns = arm::Namespace::new("Premium", 1);
    ns.cluster_arm_id = Some(format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.EventHub/clusters/bench",
        ns.subscription, ns.resource_group
    ));
    let verifier = idp.clone();
    let server = arm::ArmServer::start(ns, Arc::new(move |t: &str| verifier.verify(t, idp::ARM_AUDIENCE).map(|_| ())));
    let envs = idp.client_secret_env();
    let mut bench = Bench { dir: dir.path().to_path_buf(), envs, rows: Vec::new() };
    let result = (|| {
        let spec_100 = write_spec(&bench.dir, &server, &idp, 100)?;
        let spec_1k = write_spec(&bench.dir, &server, &idp, 1_000)?;
        bench.apply(&spec_100, "apply: create 100 event hubs (empty namespace)", 100)?;
        bench.plan(&spec_100, 100)?;
        bench.apply(&spec_1k, "apply: create 900 event hubs (1,000 in spec, 100 exist)", 900)?;
        bench.plan(&spec_1k, 1_000)
    })();
    println!();
    println!(
        "topicform {} — plan/apply benchmark against Event Hubs through the local ARM contract server (dedicated namespace, {} ARM requests served)",
        env!("CARGO_PKG_VERSION"),
        server.requests().len()
    );
    println!();
    print_table(&bench.rows);
    println!();
    println!("Wall time of a plan row: min / median of {REPEATS} runs after one warm-up run; peak RSS: ru_maxrss of the topicform process (wait4), max over the runs; MB = 10^6 bytes. Total benchmark time {}.", secs(started.elapsed()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("\nFAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
