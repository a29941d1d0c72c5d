//! Measuring topicform runs for the benchmarks: wall time and the peak RSS
//! of the process alone (`wait4` → `ru_maxrss`), and the Markdown table of
//! results. Shared by benches/plan_apply.rs and benches/eventhubs.rs.
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Memory target of every scenario.
pub const RSS_LIMIT_BYTES: u64 = 100_000_000;

/// One measured process.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub wall: Duration,
    /// `ru_maxrss` of the process, in KiB (Linux).
    pub max_rss_kib: u64,
}

/// How a topicform run ended, with its output files.
pub struct Outcome {
    pub sample: Sample,
    /// Exit code, or `None` when killed by a signal (then `signal`).
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Outcome {
    /// What went wrong, with the end of both outputs.
    pub fn failure(&self, what: &str) -> String {
        let how = match (self.code, self.signal) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            (None, None) => "unknown status".into(),
        };
        format!(
            "{what}: {how} after {}, peak RSS {}\n----- stdout (last 40 lines) -----\n{}\n----- stderr (last 40 lines) -----\n{}",
            secs(self.sample.wall),
            mb(self.sample.max_rss_kib),
            tail(&self.stdout, 40),
            tail(&self.stderr, 40)
        )
    }

    /// The warning and error lines of stderr, if any (apply also prints
    /// its plan on stderr; that is not reported).
    pub fn stderr_note(&self) -> Option<String> {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| l.contains("WARN") || l.contains("ERROR")).collect();
        if lines.is_empty() {
            return None;
        }
        let mut note: String = lines.iter().take(5).copied().collect::<Vec<_>>().join("\n");
        if lines.len() > 5 {
            note.push_str(&format!("\n... ({} lines in all)", lines.len()));
        }
        Some(note)
    }
}

pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs topicform with `args`, stdout and stderr to files in `dir`, and
/// returns its wall time and its own peak RSS.
pub fn topicform(dir: &Path, label: &str, args: &[&str], envs: &[(String, String)]) -> Result<Outcome, String> {
    let stdout = dir.join(format!("{label}.stdout"));
    let stderr = dir.join(format!("{label}.stderr"));
    let create = |p: &Path| File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()));
    let (out, err) = (create(&stdout)?, create(&stderr)?);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_topicform"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env_remove("TOPICFORM_ENV")
        .env_remove("TOPICFORM_LOG")
        .env_remove("RUST_LOG")
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    let started = Instant::now();
    let child = cmd.spawn().map_err(|e| format!("cannot run topicform: {e}"))?;
    let (status, max_rss_kib) = wait4(child.id())?;
    let wall = started.elapsed();
    // wait4 reaped the process; `child` has no pipes and nothing left to wait for.
    drop(child);
    let (code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else if libc::WIFSIGNALED(status) {
        (None, Some(libc::WTERMSIG(status)))
    } else {
        (None, None)
    };
    let outcome = Outcome { sample: Sample { wall, max_rss_kib }, code, signal, stdout, stderr };
    eprintln!(
        "bench: {label}: exit {}, {}, peak RSS {}",
        code.map_or("-".into(), |c| c.to_string()),
        secs(wall),
        mb(max_rss_kib)
    );
    Ok(outcome)
}

/// Waits for the child `pid` and returns its wait status and `ru_maxrss`
/// (KiB): the peak resident set of that process only, not of its siblings.
pub fn wait4(pid: u32) -> Result<(i32, u64), String> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| format!("pid {pid} out of range"))?;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers point to live, writable locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            return Ok((status, u64::try_from(usage.ru_maxrss).unwrap_or(0)));
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("wait4({pid}) failed: {e}"));
        }
    }
}

/// A result line of the table.
pub struct Row {
    pub scenario: String,
    pub topics: usize,
    pub samples: Vec<Sample>,
    /// Wall-time target, if this scenario has one.
    pub wall_target: Option<Duration>,
    /// Extra information: not checked against any target.
    pub info: bool,
}

impl Row {
    fn walls(&self) -> Vec<Duration> {
        let mut w: Vec<Duration> = self.samples.iter().map(|s| s.wall).collect();
        w.sort();
        w
    }

    pub fn median_wall(&self) -> Duration {
        let w = self.walls();
        w[w.len() / 2]
    }

    pub fn peak_rss_kib(&self) -> u64 {
        self.samples.iter().map(|s| s.max_rss_kib).max().unwrap_or(0)
    }

    fn wall_cell(&self) -> String {
        let w = self.walls();
        if w.len() == 1 {
            secs(w[0])
        } else {
            format!("{} / {}", secs(w[0]), secs(self.median_wall()))
        }
    }

    fn target_cell(&self) -> String {
        if self.info {
            return "— (info)".into();
        }
        match self.wall_target {
            Some(t) => format!("< {} s, RSS < 100 MB", t.as_secs()),
            None => "RSS < 100 MB".into(),
        }
    }

    fn met_cell(&self) -> String {
        let rss_ok = self.peak_rss_kib() * 1024 < RSS_LIMIT_BYTES;
        let wall_ok = self.wall_target.is_none_or(|t| self.median_wall() < t);
        if self.info {
            return if rss_ok { "(RSS < 100 MB)".into() } else { "(RSS ≥ 100 MB)".into() };
        }
        match (wall_ok, rss_ok) {
            (true, true) => "yes".into(),
            (false, true) => "**no** (wall time)".into(),
            (true, false) => "**no** (RSS)".into(),
            (false, false) => "**no** (wall time, RSS)".into(),
        }
    }
}

pub fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// KiB as decimal megabytes (the unit of the 100 MB target).
pub fn mb(kib: u64) -> String {
    format!("{:.1} MB", (kib * 1024) as f64 / 1e6)
}

pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn print_table(rows: &[Row]) {
    println!("| Scenario | Topics | Runs | Wall time (min / median) | Peak RSS (max of runs) | Target | Met? |");
    println!("|---|---:|---:|---:|---:|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.scenario,
            thousands(r.topics),
            r.samples.len(),
            r.wall_cell(),
            mb(r.peak_rss_kib()),
            r.target_cell(),
            r.met_cell()
        );
    }
}
