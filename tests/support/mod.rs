//! Shared test support: the topicform binary, a real Kafka broker started by
//! the test setup itself (deploy/local/kafka.sh, instance `test`), and
//! per-test topic prefixes so tests never see each other's topics.
#![allow(dead_code)]

pub mod fault_proxy;
pub mod idp;
pub mod secrets;
pub mod terminal;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The topicform binary with a clean, colourless environment. Its outputs
/// pass the secret scan (`secrets::assert_clean`) before a test sees them.
pub fn topicform() -> Topicform {
    let mut cmd = assert_cmd::Command::cargo_bin("topicform").expect("the topicform binary is built");
    cmd.env("NO_COLOR", "1").env_remove("TOPICFORM_ENV").env_remove("RUST_LOG").current_dir(repo());
    Topicform { cmd, args: Vec::new(), envs: Vec::new(), revealed: Vec::new() }
}

/// An `assert_cmd::Command` for the topicform binary whose `output()` and
/// `assert()` fail the test when stdout or stderr holds a secret (see
/// secrets.rs): the only way tests run the binary. The builder methods are
/// assert_cmd's; `env`/`envs` also register the value of every variable
/// whose name says it is a secret (`secrets::is_secret_name`).
pub struct Topicform {
    cmd: assert_cmd::Command,
    /// The arguments, for messages and for `reveals`.
    args: Vec<std::ffi::OsString>,
    /// The variables set or removed (`None`), for messages.
    envs: Vec<(std::ffi::OsString, Option<std::ffi::OsString>)>,
    /// Values `--reveal-secrets` may print on stdout.
    revealed: Vec<String>,
}

impl Topicform {
    pub fn arg<S: AsRef<std::ffi::OsStr>>(&mut self, arg: S) -> &mut Self {
        self.args.push(arg.as_ref().to_owned());
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        for arg in args {
            self.arg(arg);
        }
        self
    }

    pub fn env<K: AsRef<std::ffi::OsStr>, V: AsRef<std::ffi::OsStr>>(&mut self, key: K, val: V) -> &mut Self {
        let (key, val) = (key.as_ref(), val.as_ref());
        if let (Some(k), Some(v)) = (key.to_str(), val.to_str()) {
            if secrets::is_secret_name(k) {
                secrets::register_as(&format!("the value of ${k} given to topicform"), v);
            }
        }
        self.envs.push((key.to_owned(), Some(val.to_owned())));
        self.cmd.env(key, val);
        self
    }

    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        for (k, v) in vars {
            self.env(k, v);
        }
        self
    }

    pub fn env_remove<K: AsRef<std::ffi::OsStr>>(&mut self, key: K) -> &mut Self {
        self.envs.push((key.as_ref().to_owned(), None));
        self.cmd.env_remove(key);
        self
    }

    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Self {
        self.cmd.current_dir(dir);
        self
    }

    pub fn write_stdin<S: Into<Vec<u8>>>(&mut self, buffer: S) -> &mut Self {
        self.cmd.write_stdin(buffer);
        self
    }

    pub fn timeout(&mut self, timeout: std::time::Duration) -> &mut Self {
        self.cmd.timeout(timeout);
        self
    }

    /// The one case of a secret in an output that is not a leak: the user
    /// asked for it with `--reveal-secrets`. Allows exactly `value` (each
    /// occurrence, whole) on stdout; stderr and every other secret are still
    /// scanned. Panics when the arguments lack `--reveal-secrets`.
    #[track_caller]
    pub fn reveals(&mut self, value: &str) -> &mut Self {
        assert!(
            self.args.iter().any(|a| a == "--reveal-secrets"),
            "reveals(): only a `--reveal-secrets` run may print a secret; add the flag before calling it"
        );
        self.revealed.push(value.to_owned());
        self
    }

    /// Runs the binary; stdout and stderr have passed the secret scan.
    #[track_caller]
    pub fn output(&mut self) -> std::io::Result<std::process::Output> {
        let out = self.cmd.output()?;
        let command = self.describe();
        secrets::assert_clean_allowing(&format!("the stdout of `{command}`"), &out.stdout, &self.revealed);
        secrets::assert_clean(&format!("the stderr of `{command}`"), &out.stderr);
        Ok(out)
    }

    /// Runs the binary for assertions, after the secret scan of its outputs.
    #[track_caller]
    pub fn assert(&mut self) -> assert_cmd::assert::Assert {
        let out = self.output().unwrap_or_else(|e| panic!("cannot run `{}`: {e}", self.describe()));
        let variables: Vec<String> = self
            .envs
            .iter()
            .map(|(k, v)| match v {
                Some(_) if secrets::is_secret_name(&k.to_string_lossy()) => format!("{}=***", k.to_string_lossy()),
                Some(v) => format!("{}={}", k.to_string_lossy(), v.to_string_lossy()),
                None => format!("-{}", k.to_string_lossy()),
            })
            .collect();
        // Not assert_cmd's own context: it prints every variable's value.
        let assert = assert_cmd::assert::Assert::new(out).append_context("command", self.describe());
        if variables.is_empty() {
            assert
        } else {
            assert.append_context("env", secrets::redact(&variables.join(" ")))
        }
    }

    /// `topicform ARGS`, secrets redacted.
    fn describe(&self) -> String {
        let args: Vec<String> = self.args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        secrets::redact(&format!("topicform {}", args.join(" ")))
    }
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
            .collect::<std::collections::HashMap<String, String>>();
        for (k, v) in &credentials {
            if secrets::is_secret_name(k) {
                secrets::register_as(&format!("the secure broker's {k} (credentials.env)"), v);
            }
        }
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

/// Produces `count` messages to `topic`'s `partition`.
pub fn produce(topic: &str, partition: i32, count: usize) {
    use rdkafka::producer::Producer as _;
    let producer: rdkafka::producer::BaseProducer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", broker()).create().unwrap();
    for i in 0..count {
        let payload = format!("m{i}");
        producer
            .send(rdkafka::producer::BaseRecord::<str, str>::to(topic).partition(partition).payload(&payload))
            .unwrap();
    }
    producer.flush(std::time::Duration::from_secs(10)).unwrap();
}

/// Commits `offset` for `group` on `topic`'s `partition`, without joining it.
pub fn commit(group: &str, topic: &str, partition: i32, offset: i64) {
    use rdkafka::consumer::Consumer as _;
    let consumer: rdkafka::consumer::BaseConsumer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", broker()).set("group.id", group).create().unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, rdkafka::Offset::Offset(offset)).unwrap();
    consumer.commit(&tpl, rdkafka::consumer::CommitMode::Sync).unwrap();
}
