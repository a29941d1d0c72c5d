//! Shared test support: the topicform binary, a real Kafka broker started by
//! the test setup itself (deploy/local/kafka.sh, instance `test`), and
//! per-test topic prefixes so tests never see each other's topics.
#![allow(dead_code)]

pub mod idp;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The topicform binary with a clean, colourless environment.
pub fn topicform() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("topicform").expect("the topicform binary is built");
    cmd.env("NO_COLOR", "1").env_remove("TOPICFORM_ENV").env_remove("RUST_LOG").current_dir(repo());
    cmd
}

/// Starts (or reuses) the broker instance `instance` on `port` and returns
/// its bootstrap address. Fails the test, saying how to install what is
/// missing, when the broker cannot start: tests never skip.
pub fn start_broker(instance: &str, port: u16) -> String {
    let script = repo().join("deploy/local/kafka.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("start")
        .env("KAFKA_INSTANCE", instance)
        .env("KAFKA_PORT", port.to_string())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; install bash", script.display()));
    assert!(
        out.status.success(),
        "the test broker did not start (instance {instance}, port {port}).\n\
         Prerequisites: Java 17 and Maven (`sudo deploy/setup.sh` installs them), and access to Maven Central.\n\
         stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    format!("localhost:{port}")
}

/// Port of the shared test broker; `TOPICFORM_TEST_PORT` moves it (and the
/// prune test's broker, 100 above) when another checkout's tests run.
pub fn test_port(offset: u16) -> u16 {
    let base = std::env::var("TOPICFORM_TEST_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(39092u16);
    base + offset
}

/// The broker shared by every test of a run.
pub fn broker() -> &'static str {
    static BROKER: OnceLock<String> = OnceLock::new();
    BROKER.get_or_init(|| start_broker("test", test_port(0)))
}

/// A prefix no other test (or earlier run against the same broker) uses.
pub fn unique_prefix(test: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("t{}-{test}-", nanos % 10_000_000_000)
}

/// A temporary directory holding a spec file.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        Workspace { dir: tempfile::tempdir().unwrap() }
    }

    /// Writes `spec` as topicform.yaml and returns its path.
    pub fn spec(&self, spec: &str) -> PathBuf {
        self.file("topicform.yaml", spec)
    }

    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A one-environment (`test`) spec for `bootstrap` with `topics` (YAML
/// lines indented by two spaces) and extra environment lines.
pub fn kafka_spec(bootstrap: &str, env_extra: &str, topics: &str) -> String {
    format!(
        "version: 1\ndefaults:\n  partitions: 1\n  replicationFactor: 1\nenvironments:\n  test:\n    cluster:\n      type: kafka\n      bootstrapServers: [{bootstrap}]\n{env_extra}topics:\n{topics}"
    )
}

/// Runs `plan -o json` and parses the plan.
pub fn plan_json(spec: &Path, extra: &[&str]) -> serde_json::Value {
    let out = topicform().args(["plan", "-e", "test", "-o", "json", "-f"]).arg(spec).args(extra).output().unwrap();
    assert!(
        out.status.success(),
        "plan failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("plan -o json prints JSON")
}

/// The plan entry of `topic`.
pub fn topic_plan<'a>(plan: &'a serde_json::Value, topic: &str) -> &'a serde_json::Value {
    plan["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["topic"] == topic)
        .unwrap_or_else(|| panic!("{topic} not in plan: {plan:#}"))
}

/// Applies `spec` with --auto-approve and asserts success.
pub fn apply(spec: &Path, extra: &[&str]) -> String {
    let out = topicform().args(["apply", "-e", "test", "--auto-approve", "-f"]).arg(spec).args(extra).output().unwrap();
    assert!(
        out.status.success(),
        "apply failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A broker with SSL and SASL_SSL listeners (deploy/local/secure.sh): its
/// bootstrap addresses, CA files and generated credentials.
pub struct SecureBroker {
    /// deploy/local/secure.sh's directory (keys, idp.env, credentials.env).
    pub dir: PathBuf,
    pub ssl: String,
    pub sasl_ssl: String,
    /// An SSL listener whose certificate names another host.
    pub wrong_host: String,
    /// A SASL_PLAINTEXT listener (PLAIN and SCRAM users).
    pub sasl_plaintext: String,
    /// An SSL listener that requires a client certificate.
    pub mtls: String,
    pub ca: PathBuf,
    pub other_ca: PathBuf,
    pub credentials: std::collections::HashMap<String, String>,
}

/// The secure broker shared by a test run (instance `test-secure`, ports
/// TOPICFORM_TEST_PORT+200 and up), started by the test itself.
pub fn secure_broker() -> &'static SecureBroker {
    static BROKER: OnceLock<SecureBroker> = OnceLock::new();
    BROKER.get_or_init(|| {
        let cache = std::env::var("TOPICFORM_CACHE").map(PathBuf::from).unwrap_or_else(|_| repo().join(".cache"));
        let dir = cache.join("run/test-secure-files");
        let out = Command::new("bash")
            .arg(repo().join("deploy/local/secure.sh"))
            .arg("start")
            .arg(&dir)
            .env("KAFKA_INSTANCE", "test-secure")
            .env("KAFKA_PORT", test_port(200).to_string())
            .output()
            .expect("bash runs deploy/local/secure.sh");
        assert!(
            out.status.success(),
            "the secure test broker did not start. Prerequisites: openssl, Java 17, Maven (`sudo deploy/setup.sh`).\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.join("credentials.env")).expect("credentials.env");
        let credentials = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('\'').to_owned()))
            .collect();
        SecureBroker {
            dir: dir.clone(),
            ssl: format!("localhost:{}", test_port(210)),
            sasl_ssl: format!("localhost:{}", test_port(220)),
            wrong_host: format!("localhost:{}", test_port(230)),
            sasl_plaintext: format!("localhost:{}", test_port(240)),
            mtls: format!("localhost:{}", test_port(250)),
            ca: dir.join("ca.pem"),
            other_ca: dir.join("other-ca.pem"),
            credentials,
        }
    })
}

/// Runs a Kafka CLI tool class against the secure broker's instance
/// (deploy/local/kafka.sh tool), asserting success.
pub fn kafka_tool(class: &str, args: &[&str]) {
    let out = Command::new("bash")
        .arg(repo().join("deploy/local/kafka.sh"))
        .args(["tool", class])
        .args(args)
        .env("KAFKA_INSTANCE", "test-secure")
        .output()
        .expect("bash runs deploy/local/kafka.sh");
    assert!(
        out.status.success(),
        "{class} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
