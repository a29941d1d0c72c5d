//! Benchmark of `plan` and `apply` against a real local Apache Kafka broker.
//!
//! Run with `cargo bench --bench plan_apply` (see docs/benchmarks.md). It:
//!
//! - starts its own broker, `deploy/local/kafka.sh start` with
//!   `KAFKA_INSTANCE=bench KAFKA_PORT=39292 KAFKA_RESET=1` (fresh data every
//!   run; `KAFKA_HEAP_OPTS` and the other kafka.sh variables pass through),
//!   and stops it at the end, also when a scenario fails or panics;
//! - writes specs (one `bench` environment, partitions 1, replication factor 1,
//!   a `retention.ms` override on every topic so configs are compared too)
//!   into a temporary directory;
//! - runs the release binary as a subprocess and measures each run's wall time
//!   and the peak RSS of that process alone (`wait4` → `ru_maxrss`);
//! - prints a Markdown table on stdout (progress goes to stderr).
//!
//! Scenarios, in order, on the one broker:
//!
//! 1. `apply` creating 1,000 topics on the empty broker (one run, measured);
//! 2. `plan` of 100 and of 1,000 in-sync topics (1,000 topics on the broker);
//! 3. `apply` of the 10,000-topic spec, creating the 9,000 missing topics in
//!    one go with `--timeout 120` (one run, extra information; see
//!    [`SETUP_TIMEOUT`]);
//! 4. `plan` of 10,000 in-sync topics, and of 100 topics with 10,000 on the
//!    broker (extra information: the cost of a large cluster).
//!
//! Every plan runs with `--detailed-exitcode` and must exit 0 (in sync);
//! anything else fails the benchmark, showing the output. Each plan is run
//! once unmeasured (warm-up) and then measured [`REPEATS`] times. Before
//! each scenario the bench waits until the broker is idle: after a large
//! create it goes on creating partition logs for seconds, which on a 2-core
//! machine would be measured as topicform's time.
//!
//! Under `cargo test --benches` / `--all-targets` (no `--bench` argument) it
//! does nothing: it needs a broker and minutes.

#[path = "support/measure.rs"]
mod measure;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use measure::{print_table, secs, topicform, Outcome, Row, Sample};

/// kafka.sh instance and client port of the benchmark's own broker.
const INSTANCE: &str = "bench";
const PORT: u16 = 39292;
/// Measured runs of each plan scenario.
const REPEATS: usize = 3;
/// Targets.
const PLAN_10K_WALL: Duration = Duration::from_secs(3);
const APPLY_1K_WALL: Duration = Duration::from_secs(10);
/// `--timeout` of the apply that sets up the 10,000-topic plan: with the
/// default 30 s, apply stops waiting for 10,000 new topics to show in
/// metadata before this broker (2 cores) has them all (docs/benchmarks.md).
const SETUP_TIMEOUT: &str = "120";
/// Longest wait for the broker to become idle before a measurement.
const SETTLE_LIMIT: Duration = Duration::from_secs(180);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bench broker; stopped when dropped (also while unwinding a panic).
struct Broker {
    /// The broker's JVM, for [`Broker::settle`].
    pid: u32,
}

impl Broker {
    fn kafka_sh(command: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg(repo().join("deploy/local/kafka.sh"))
            .arg(command)
            .env("KAFKA_INSTANCE", INSTANCE)
            .env("KAFKA_PORT", PORT.to_string())
            .current_dir(repo())
            .stdin(Stdio::null());
        cmd
    }

    fn start() -> Result<Broker, String> {
        let started = Instant::now();
        let out = Broker::kafka_sh("start")
            .env("KAFKA_RESET", "1")
            .output()
            .map_err(|e| format!("cannot run deploy/local/kafka.sh: {e}"))?;
        if !out.status.success() {
            // A half-started broker is stopped too.
            drop(Broker { pid: 0 });
            return Err(format!(
                "the bench broker did not start ({}).\nstdout:\n{}\nstderr:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        eprintln!("bench: broker ready on localhost:{PORT} in {}", secs(started.elapsed()));
        // From here on, a failure still stops the broker (Drop).
        let mut broker = Broker { pid: 0 };
        let out = Broker::kafka_sh("status").output().map_err(|e| format!("cannot run kafka.sh status: {e}"))?;
        let status = String::from_utf8_lossy(&out.stdout);
        broker.pid = status
            .split_whitespace()
            .find_map(|w| w.strip_prefix("pid="))
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("kafka.sh status printed no pid: {status}"))?;
        Ok(broker)
    }

    /// CPU time (user + system) the broker has used so far.
    fn cpu_time(&self) -> Result<Duration, String> {
        let path = format!("/proc/{}/stat", self.pid);
        let stat = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
        // Fields after "(comm)": state is field 3, utime 14, stime 15.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
        // SAFETY: sysconf has no memory effects.
        let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100).max(1);
        Ok(Duration::from_millis((ticks(11) + ticks(12)) * 1000 / hz))
    }

    /// Waits until the broker is idle (under 10% of a core for a second),
    /// so a measurement does not share the 2 cores with the broker still
    /// creating partition logs for topics an apply just created. Returns
    /// how long that took; gives up (saying so) after [`SETTLE_LIMIT`].
    fn settle(&self) -> Result<Duration, String> {
        let started = Instant::now();
        let mut before = self.cpu_time()?;
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let now = self.cpu_time()?;
            if now.saturating_sub(before) < Duration::from_millis(100) {
                return Ok(started.elapsed());
            }
            if started.elapsed() > SETTLE_LIMIT {
                eprintln!("bench: the broker is still busy after {}; measuring anyway", secs(started.elapsed()));
                return Ok(started.elapsed());
            }
            before = now;
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        eprintln!("bench: stopping the broker (instance {INSTANCE})");
        match Broker::kafka_sh("stop").stdout(Stdio::null()).status() {
            Ok(s) if s.success() => {}
            Ok(s) => eprintln!("bench: kafka.sh stop failed ({s}); stop it with KAFKA_INSTANCE={INSTANCE} KAFKA_PORT={PORT} deploy/local/kafka.sh stop"),
            Err(e) => eprintln!("bench: cannot run kafka.sh stop: {e}"),
        }
    }
}

fn topic_name(i: usize) -> String {
    format!("bench-t{i:05}")
}

/// A spec with topics `0..n`, each with its own `retention.ms` override.
fn write_spec(dir: &Path, n: usize) -> Result<PathBuf, String> {
    let mut s = format!(
        "version: 1\ndefaults:\n  partitions: 1\n  replicationFactor: 1\nenvironments:\n  bench:\n    cluster:\n      type: kafka\n      bootstrapServers: [localhost:{PORT}]\ntopics:\n"
    );
    for i in 0..n {
        s.push_str(&format!("  {}: {{ config: {{ retention.ms: {}h }} }}\n", topic_name(i), i % 168 + 1));
    }
    let path = dir.join(format!("spec-{n}.yaml"));
    std::fs::write(&path, s).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// The scenarios; rows are added as they complete, so a failure still
/// leaves the measured ones to print.
struct Bench<'a> {
    broker: &'a Broker,
    dir: PathBuf,
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Bench<'_> {
    fn apply(&mut self, spec: &Path, label: &str, extra: &[&str]) -> Result<Outcome, String> {
        let spec = spec.to_str().ok_or("temporary path is not UTF-8")?;
        let mut args = vec!["apply", "-e", "bench", "--auto-approve", "-f", spec];
        args.extend_from_slice(extra);
        let outcome = topicform(&self.dir, label, &args, &[])?;
        if outcome.code != Some(0) {
            return Err(outcome.failure(&format!("`topicform apply` ({label}) failed")));
        }
        if let Some(note) = outcome.stderr_note() {
            self.notes.push(format!("{label} wrote to stderr:\n{note}"));
        }
        Ok(outcome)
    }

    /// One `plan --detailed-exitcode` that must report "in sync".
    fn plan(&mut self, spec: &Path, label: &str) -> Result<Sample, String> {
        let spec = spec.to_str().ok_or("temporary path is not UTF-8")?;
        let outcome = topicform(&self.dir, label, &["plan", "-e", "bench", "--detailed-exitcode", "-f", spec], &[])?;
        match outcome.code {
            Some(0) => {}
            Some(2) => return Err(outcome.failure(&format!("`topicform plan` ({label}) is NOT in sync (exit 2)"))),
            _ => return Err(outcome.failure(&format!("`topicform plan` ({label}) failed"))),
        }
        if let Some(note) = outcome.stderr_note() {
            self.notes.push(format!("{label} wrote to stderr:\n{note}"));
        }
        Ok(outcome.sample)
    }

    /// A warm-up plan, then [`REPEATS`] measured ones, as one row.
    fn plan_row(
        &mut self,
        scenario: &str,
        spec: &Path,
        topics: usize,
        target: Option<Duration>,
        info: bool,
    ) -> Result<(), String> {
        let label = format!("plan-{topics}{}", if info { "-info" } else { "" });
        self.settle(&label)?;
        self.plan(spec, &format!("{label}-warmup"))?;
        let mut samples = Vec::new();
        for i in 1..=REPEATS {
            samples.push(self.plan(spec, &format!("{label}-run{i}"))?);
        }
        self.rows.push(Row { scenario: scenario.into(), topics, samples, wall_target: target, info });
        Ok(())
    }

    /// Waits for an idle broker before `label`, noting the wait.
    fn settle(&mut self, label: &str) -> Result<(), String> {
        let waited = self.broker.settle()?;
        eprintln!("bench: broker idle before {label} after {}", secs(waited));
        if waited > Duration::from_secs(3) {
            self.notes
                .push(format!("before {label} the broker was busy for {} (creating partition logs)", secs(waited)));
        }
        Ok(())
    }

    fn run(&mut self) -> Result<(), String> {
        let spec_100 = write_spec(&self.dir, 100)?;
        let spec_1k = write_spec(&self.dir, 1_000)?;
        let spec_10k = write_spec(&self.dir, 10_000)?;

        self.settle("apply-1000")?;
        let created = self.apply(&spec_1k, "apply-1000", &[])?;
        self.rows.push(Row {
            scenario: "apply: create 1,000 topics (empty broker)".into(),
            topics: 1_000,
            samples: vec![created.sample],
            wall_target: Some(APPLY_1K_WALL),
            info: false,
        });

        self.plan_row("plan, in sync (1,000 topics on broker)", &spec_100, 100, None, false)?;
        self.plan_row("plan, in sync (1,000 topics on broker)", &spec_1k, 1_000, None, false)?;

        let created = self.apply(&spec_10k, "apply-10000", &["--timeout", SETUP_TIMEOUT])?;
        self.rows.push(Row {
            scenario: format!(
                "apply: create 9,000 topics in one run (10,000 in spec, 1,000 exist; --timeout {SETUP_TIMEOUT})"
            ),
            topics: 9_000,
            samples: vec![created.sample],
            wall_target: None,
            info: true,
        });

        self.plan_row("plan, in sync (10,000 topics on broker)", &spec_10k, 10_000, Some(PLAN_10K_WALL), false)?;
        self.plan_row("plan, in sync (10,000 topics on broker)", &spec_100, 100, None, true)?;
        Ok(())
    }
}

fn main() -> ExitCode {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("plan_apply: skipped; run it with `cargo bench --bench plan_apply` (it starts a broker and creates 10,000 topics)");
        return ExitCode::SUCCESS;
    }
    let started = Instant::now();
    let dir = match tempfile::Builder::new().prefix("topicform-bench-").tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("bench: cannot create a temporary directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let broker = match Broker::start() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("bench: FAILED: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut bench = Bench { broker: &broker, dir: dir.path().to_path_buf(), rows: Vec::new(), notes: Vec::new() };
    let result = bench.run();
    let (rows, notes) = (std::mem::take(&mut bench.rows), std::mem::take(&mut bench.notes));
    drop(broker);

    println!();
    println!("topicform {} — plan/apply benchmark against Apache Kafka (deploy/local/kafka.sh, instance `{INSTANCE}`, localhost:{PORT})", env!("CARGO_PKG_VERSION"));
    println!();
    print_table(&rows);
    println!();
    println!("Wall time of a plan row: min / median of {REPEATS} runs after one warm-up run, each row started with an idle broker; peak RSS: ru_maxrss of the topicform process (wait4), max over the runs; MB = 10^6 bytes. Total benchmark time {}.", secs(started.elapsed()));
    for note in &notes {
        println!();
        println!("Note: {note}");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!();
            println!("FAILED: {e}");
            eprintln!("bench: FAILED (see above)");
            ExitCode::FAILURE
        }
    }
}
