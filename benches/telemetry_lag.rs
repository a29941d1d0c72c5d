//! Benchmark of what issue 14 added: the cost of telemetry on a plan, and
//! how `lag` reads the ends of 10,000 partitions.
//!
//! Run with `cargo bench --bench telemetry_lag` (see docs/benchmarks.md). It
//! starts its own broker (`deploy/local/kafka.sh`, instance `bench-lag` on
//! 39592, advertised as 39593: every connection goes through the fault proxy
//! of tests/support/fault_proxy.rs, which counts requests by Kafka api key
//! and can add latency) and the OpenTelemetry Collector of
//! deploy/tools/otelcol.sh; both stop at the end.
//!
//! 1. `plan` of 1,000 in-sync topics, telemetry off (no OTEL_* variable)
//!    and on (exporting to the collector), alternating, 7 measured runs each
//!    after a warm-up of each; the medians and the overhead.
//! 2. `lag` of one group over 100 topics of 100 partitions (10,000
//!    partitions): wall time and the ListOffsets, OffsetFetch and Metadata
//!    requests the broker received; directly, and with 15 ms added to every
//!    chunk both ways (about 30 ms per round trip, as to a cloud endpoint).
//!
//! Under `cargo test --benches` / `--all-targets` it does nothing.

#[path = "../tests/support/collector.rs"]
#[allow(dead_code)]
mod collector;
#[path = "../tests/support/fault_proxy.rs"]
#[allow(dead_code)]
mod fault_proxy;
#[path = "support/measure.rs"]
mod measure;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use fault_proxy::{Fault, FaultProxy};
use measure::{mb, secs, topicform, Sample};

const INSTANCE: &str = "bench-lag";
const PORT: u16 = 39592;
const ADVERTISED: u16 = 39593;
const RUNS: usize = 7;
/// Kafka api keys.
const LIST_OFFSETS: i16 = 2;
const METADATA: i16 = 3;
const OFFSET_FETCH: i16 = 9;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bench broker; stopped when dropped.
struct Broker;

impl Broker {
    fn kafka_sh(command: &str, config: &Path) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg(repo().join("deploy/local/kafka.sh"))
            .arg(command)
            .env("KAFKA_INSTANCE", INSTANCE)
            .env("KAFKA_PORT", PORT.to_string())
            .env("KAFKA_EXTRA_CONFIG", config)
            .current_dir(repo())
            .stdin(Stdio::null());
        cmd
    }

    fn start(dir: &Path) -> Result<Broker, String> {
        let config = dir.join("advertised.properties");
        std::fs::write(&config, format!("advertised.listeners=PLAINTEXT://localhost:{ADVERTISED}\n"))
            .map_err(|e| e.to_string())?;
        let out = Broker::kafka_sh("start", &config)
            .env("KAFKA_RESET", "1")
            .output()
            .map_err(|e| format!("cannot run kafka.sh: {e}"))?;
        let broker = Broker;
        if !out.status.success() {
            return Err(format!("the bench broker did not start:\n{}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(broker)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        eprintln!("bench: stopping the broker (instance {INSTANCE})");
        let _ = Broker::kafka_sh("stop", Path::new("/dev/null")).stdout(Stdio::null()).status();
    }
}

fn spec(dir: &Path, name: &str, topics: usize, partitions: u32, consumer: Option<&str>) -> Result<PathBuf, String> {
    let consumers = consumer.map_or(String::new(), |c| format!(", consumers: [{c}]"));
    let mut s = format!(
        "version: 1\ndefaults:\n  partitions: {partitions}\n  replicationFactor: 1\nenvironments:\n  bench:\n    cluster:\n      type: kafka\n      bootstrapServers: [localhost:{ADVERTISED}]\ntopics:\n"
    );
    for i in 0..topics {
        s.push_str(&format!("  {name}-{i:05}: {{ config: {{ retention.ms: {}h }}{consumers} }}\n", i % 168 + 1));
    }
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, s).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

fn run_ok(dir: &Path, label: &str, args: &[&str], envs: &[(String, String)], codes: &[i32]) -> Result<Sample, String> {
    let outcome = topicform(dir, label, args, envs)?;
    match outcome.code {
        Some(c) if codes.contains(&c) => Ok(outcome.sample),
        _ => Err(outcome.failure(&format!("`topicform {}` ({label})", args.join(" ")))),
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn telemetry(dir: &Path) -> Result<Vec<String>, String> {
    let spec = spec(dir, "otel", 1_000, 1, None)?;
    let spec = spec.to_str().ok_or("path")?;
    run_ok(dir, "setup-1000", &["apply", "-e", "bench", "--auto-approve", "--lock", "none", "-f", spec], &[], &[0])?;
    std::thread::sleep(Duration::from_secs(10));
    let collector = collector::Collector::start(None);
    let on = vec![("OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(), collector.endpoint.clone())];
    let plan = ["plan", "-e", "bench", "--detailed-exitcode", "-f", spec];
    run_ok(dir, "off-warmup", &plan, &[], &[0])?;
    run_ok(dir, "on-warmup", &plan, &on, &[0])?;
    let (mut off, mut on_walls, mut rss_off, mut rss_on) = (Vec::new(), Vec::new(), 0, 0);
    for i in 0..RUNS {
        let s = run_ok(dir, &format!("off-{i}"), &plan, &[], &[0])?;
        off.push(s.wall);
        rss_off = rss_off.max(s.max_rss_kib);
        let s = run_ok(dir, &format!("on-{i}"), &plan, &on, &[0])?;
        on_walls.push(s.wall);
        rss_on = rss_on.max(s.max_rss_kib);
    }
    let spans = collector.spans().len();
    let (off, on_median) = (median(off), median(on_walls));
    let overhead = (on_median.as_secs_f64() / off.as_secs_f64() - 1.0) * 100.0;
    Ok(vec![
        "| plan of 1,000 in-sync topics | median wall | peak RSS |".into(),
        "|---|---|---|".into(),
        format!("| telemetry off | {} | {} |", secs(off), mb(rss_off)),
        format!("| telemetry on (OTLP to a local collector) | {} | {} |", secs(on_median), mb(rss_on)),
        format!("| overhead | {overhead:+.1} % | |"),
        String::new(),
        format!("{spans} spans reached the collector from the {} runs with telemetry on.", RUNS + 1),
    ])
}

fn lag(dir: &Path, proxy: &FaultProxy) -> Result<Vec<String>, String> {
    let group = "bench-lag-group";
    let spec = spec(dir, "lag", 100, 100, Some(group))?;
    let spec = spec.to_str().ok_or("path")?;
    run_ok(
        dir,
        "setup-10000-partitions",
        &["apply", "-e", "bench", "--auto-approve", "--lock", "none", "--timeout", "120", "-f", spec],
        &[],
        &[0],
    )?;
    std::thread::sleep(Duration::from_secs(20));
    let mut lines = vec![
        "| lag of 1 group, 10,000 partitions | wall | peak RSS | ListOffsets | OffsetFetch | Metadata |".to_owned(),
        "|---|---|---|---|---|---|".to_owned(),
    ];
    let args = ["lag", "-e", "bench", "-o", "json", "--timeout", "60", "-f", spec];
    run_ok(dir, "lag-warmup", &args, &[], &[0])?;
    for (label, fault) in [("local", Fault::Pass), ("+30 ms per round trip", Fault::Delay(Duration::from_millis(15)))] {
        proxy.set(fault);
        let before = [LIST_OFFSETS, OFFSET_FETCH, METADATA].map(|k| proxy.requests(k));
        let sample = run_ok(dir, &format!("lag-{}", label.replace(' ', "-")), &args, &[], &[0])?;
        let after = [LIST_OFFSETS, OFFSET_FETCH, METADATA].map(|k| proxy.requests(k));
        lines.push(format!(
            "| {label} | {} | {} | {} | {} | {} |",
            secs(sample.wall),
            mb(sample.max_rss_kib),
            after[0] - before[0],
            after[1] - before[1],
            after[2] - before[2]
        ));
    }
    proxy.set(Fault::Pass);
    Ok(lines)
}

fn main() -> ExitCode {
    if !std::env::args().any(|a| a == "--bench") {
        return ExitCode::SUCCESS;
    }
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = (|| {
        let broker = Broker::start(dir.path())?;
        let listen: SocketAddr = format!("127.0.0.1:{ADVERTISED}").parse().map_err(|_| "address")?;
        let upstream: SocketAddr = format!("127.0.0.1:{PORT}").parse().map_err(|_| "address")?;
        let proxy = FaultProxy::start(listen, upstream);
        let mut out = telemetry(dir.path())?;
        out.push(String::new());
        out.extend(lag(dir.path(), &proxy)?);
        drop(proxy);
        drop(broker);
        Ok::<_, String>(out)
    })();
    match result {
        Ok(lines) => {
            println!("{}", lines.join("\n"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}
