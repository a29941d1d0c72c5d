//! topicform against a real kube-apiserver (the single-node test cluster of
//! deploy/k8s/cluster.sh, started here when it is not running) and the
//! shared test broker: the Lease that serialises applies, the status
//! ConfigMap and the Events of each run, and nothing of it outside
//! Kubernetes. Every check reads the objects back through the API; nothing
//! of Kubernetes is mocked.
//!
//! An apply waiting at its confirmation prompt (on a pseudo-terminal)
//! holds the Lease for as long as the test wants, which is what makes the
//! waits deterministic.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use support::terminal::Terminal;
use support::{broker, repo, topicform, unique_prefix, Workspace};

/// The test cluster's admin kubeconfig, the cluster started once per run.
fn kubeconfig() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let script = repo().join("deploy/k8s/cluster.sh");
        let out = Command::new("bash").arg(&script).arg("start").output().expect("bash runs");
        assert!(
            out.status.success(),
            "the test cluster did not start. It needs root and the tools `deploy/setup.sh --tools` builds \
             (deploy/tools/kubernetes.sh: the kube binary, containerd, runc, etcd).\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let out = Command::new("bash").arg(&script).arg("kubeconfig").output().expect("bash runs");
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

async fn client() -> kube::Client {
    let config = Kubeconfig::read_from(kubeconfig()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(config, &KubeConfigOptions::default()).await.unwrap();
    kube::Client::try_from(config).unwrap()
}

/// A namespace of its own for each test, deleted when the test ends.
struct TestNamespace {
    name: String,
}

impl TestNamespace {
    fn new(test: &str) -> TestNamespace {
        let name = unique_prefix(test).trim_end_matches('-').to_lowercase();
        runtime().block_on(async {
            let api: Api<Namespace> = Api::all(client().await);
            let ns = serde_json::from_value(serde_json::json!({ "metadata": { "name": name } })).unwrap();
            api.create(&PostParams::default(), &ns).await.unwrap();
        });
        TestNamespace { name }
    }

    fn leases(&self) -> Vec<Lease> {
        runtime().block_on(async {
            let api: Api<Lease> = Api::namespaced(client().await, &self.name);
            api.list(&ListParams::default()).await.unwrap().items
        })
    }

    fn status(&self, environment: &str) -> ConfigMap {
        runtime().block_on(async {
            let api: Api<ConfigMap> = Api::namespaced(client().await, &self.name);
            api.get(&format!("topicform-status-{environment}")).await.unwrap()
        })
    }

    /// (type, reason, note) of every Event in the namespace, oldest first.
    fn events(&self) -> Vec<(String, String, String)> {
        runtime().block_on(async {
            let api: Api<Event> = Api::namespaced(client().await, &self.name);
            let mut events = api.list(&ListParams::default()).await.unwrap().items;
            events.sort_by_key(|e| e.event_time.as_ref().map(|t| t.0));
            events
                .into_iter()
                .map(|e| {
                    assert_eq!(
                        e.regarding.as_ref().and_then(|r| r.name.as_deref()),
                        Some("topicform-status-test"),
                        "Events are about the status object"
                    );
                    (e.type_.unwrap_or_default(), e.reason.unwrap_or_default(), e.note.unwrap_or_default())
                })
                .collect()
        })
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        runtime().block_on(async {
            let api: Api<Namespace> = Api::all(client().await);
            let _ = api.delete(&self.name, &DeleteParams::background()).await;
        });
    }
}

fn holder(lease: &Lease) -> String {
    lease.spec.as_ref().and_then(|s| s.holder_identity.clone()).unwrap_or_default()
}

/// Waits until `condition` holds, up to `limit`.
fn eventually(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An apply on a terminal, stopped at its confirmation prompt until the
/// test answers: it holds the lock all that time.
struct PromptingApply(Terminal);

impl PromptingApply {
    fn start(spec: &Path, extra: &str) -> PromptingApply {
        let mut command = Command::new(assert_cmd::cargo::cargo_bin("topicform"));
        command
            .args(["apply", "-e", "test", "--timeout", "10", "-f"])
            .arg(spec)
            .args(extra.split_whitespace())
            .env("KUBECONFIG", kubeconfig())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG");
        PromptingApply(Terminal::spawn(command, &spec.with_extension("prompting.out")))
    }

    fn wait_for_prompt(&self) {
        self.0.wait_for("Only 'yes' is accepted", Duration::from_secs(60));
    }

    /// Answers `yes` and returns the exit code and what the terminal showed.
    fn approve(mut self) -> (Option<i32>, String) {
        self.0.type_line("yes");
        self.0.wait(Duration::from_secs(90))
    }

    /// Sends `signal` to the apply and returns the exit code and what the
    /// terminal showed.
    fn signal(self, signal: i32) -> (Option<i32>, String) {
        self.0.signal(signal);
        self.0.wait(Duration::from_secs(30))
    }

    /// Kills the apply: a holder that died.
    fn kill(self) {
        self.0.kill();
    }
}

fn spec(ws: &Workspace, prefix: &str, topics: &[&str]) -> PathBuf {
    let lines: String = topics.iter().map(|t| format!("  {prefix}{t}: {{}}\n")).collect();
    ws.spec(&support::kafka_spec(broker(), "", &lines))
}

/// Runs topicform with the test cluster's kubeconfig.
fn run(args: &[&str], spec: &Path) -> (Option<i32>, String, String) {
    let out = topicform().args(args).arg("-f").arg(spec).env("KUBECONFIG", kubeconfig()).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `topic` of `spec` is still to be created: nothing was applied.
fn assert_not_created(spec: &Path, topic: &str) {
    let plan = support::plan_json(spec, &[]);
    assert_eq!(support::topic_plan(&plan, topic)["action"], "create", "nothing was applied");
}

/// The Lease a Kafka cluster's applies share is named after its cluster id.
fn expected_lease_name() -> String {
    use rdkafka::admin::AdminClient;
    use rdkafka::client::DefaultClientContext;
    use rdkafka::ClientConfig;
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", broker()).create().unwrap();
    let id = admin.inner().fetch_cluster_id(Duration::from_secs(10)).expect("the test broker has a cluster id");
    topicform::k8s::object_name("topicform", &id)
}

#[test]
fn two_applies_are_serialised_by_the_lease_and_the_waiter_names_the_holder() {
    let ns = TestNamespace::new("lease");
    let lock = format!("--lock kubernetes:{}", ns.name);
    let (ws_a, ws_b) = (Workspace::new(), Workspace::new());
    let prefix = unique_prefix("lease");
    let spec_a = spec(&ws_a, &prefix, &["a1", "a2"]);
    let spec_b = spec(&ws_b, &prefix, &["b1"]);

    let first = PromptingApply::start(&spec_a, &lock);
    first.wait_for_prompt();
    let leases = ns.leases();
    assert_eq!(leases.len(), 1, "one Lease per cluster: {leases:?}");
    let lease = &leases[0];
    assert_eq!(lease.metadata.name.as_deref(), Some(expected_lease_name().as_str()), "named after the cluster id");
    let holder_a = holder(lease);
    assert!(holder_a.starts_with("topicform@"), "{holder_a}");

    // A second apply gives up after --lock-timeout, naming the holder.
    let started = Instant::now();
    let (code, _, stderr) = run(
        &["apply", "-e", "test", "--auto-approve", "--lock", &format!("kubernetes:{}", ns.name), "--lock-timeout", "3"],
        &spec_b,
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&format!("another apply is running on this cluster: {holder_a} since ")), "{stderr}");
    assert!(stderr.contains(&format!("(Lease {}/{})", ns.name, expected_lease_name())), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20), "gave up after {:?}", started.elapsed());

    // One that waits longer runs once the first is done.
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("topicform"));
    command
        .args(["apply", "-e", "test", "--auto-approve", "--lock", &format!("kubernetes:{}", ns.name), "-f"])
        .arg(&spec_b)
        .env("KUBECONFIG", kubeconfig())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    let mut second = Terminal::spawn(command, &spec_b.with_extension("second.out"));
    // Held past the lease duration (15 s): only renewals keep it.
    let renewed_at = |lease: &Lease| lease.spec.as_ref().and_then(|s| s.renew_time.as_ref()).map(|t| t.0);
    let first_renewal = renewed_at(lease);
    std::thread::sleep(Duration::from_secs(20));
    assert!(second.running(), "the second apply waits while the first holds the Lease");
    let lease = &ns.leases()[0];
    assert_eq!(holder(lease), holder_a, "the first still holds it");
    assert!(renewed_at(lease) > first_renewal, "the holder renews: {lease:?}");
    let (code_a, out_a) = first.approve();
    let approved = Instant::now();
    assert_eq!(code_a, Some(0), "{out_a}");
    assert!(out_a.contains("Apply: 2 succeeded"), "{out_a}");
    let (code_b, out_b) = second.wait(Duration::from_secs(60));
    // Released, not expired: the second starts at once, not 15 s later.
    assert!(approved.elapsed() < Duration::from_secs(12), "the second ran {:?} after the approval", approved.elapsed());
    assert_eq!(code_b, Some(0), "{out_b}");
    assert!(out_b.contains("Apply: 1 succeeded"), "{out_b}");
    assert!(out_b.contains("waiting for another apply to finish") && out_b.contains(&holder_a), "{out_b}");
    // Both released it: the next run need not wait.
    let lease = &ns.leases()[0];
    assert_eq!(holder(lease), "", "released: {lease:?}");
}

#[test]
fn a_killed_holder_is_taken_over_after_the_lease_duration() {
    let ns = TestNamespace::new("lease-dead");
    let ws = Workspace::new();
    let prefix = unique_prefix("dead");
    let spec = spec(&ws, &prefix, &["t"]);
    let holder_run = PromptingApply::start(&spec, &format!("--lock kubernetes:{}/platform-lock", ns.name));
    holder_run.wait_for_prompt();
    let dead = holder(&ns.leases()[0]);
    assert_eq!(ns.leases()[0].metadata.name.as_deref(), Some("platform-lock"), "the name --lock gave");
    holder_run.kill();

    let started = Instant::now();
    let (code, stdout, stderr) = run(
        &["apply", "-e", "test", "--auto-approve", "--lock", &format!("kubernetes:{}/platform-lock", ns.name)],
        &spec,
    );
    let waited = started.elapsed();
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains(&dead), "the waiter named the dead holder: {stderr}");
    // The Lease is taken once its record has not changed for its whole
    // duration (15 s) as the waiter measured it.
    assert!(waited >= Duration::from_secs(14) && waited < Duration::from_secs(45), "took over after {waited:?}");
    let spec_after = ns.leases()[0].spec.clone().unwrap();
    assert_eq!(spec_after.lease_transitions, Some(1), "{spec_after:?}");
}

/// An apply that loses its Lease (another run took it) sends nothing.
#[test]
fn an_apply_that_lost_its_lease_sends_nothing() {
    let ns = TestNamespace::new("lease-lost");
    let ws = Workspace::new();
    let prefix = unique_prefix("lost");
    let spec = spec(&ws, &prefix, &["t"]);
    let run = PromptingApply::start(&spec, &format!("--lock kubernetes:{}/taken", ns.name));
    run.wait_for_prompt();
    runtime().block_on(async {
        let api: Api<Lease> = Api::namespaced(client().await, &ns.name);
        let mut lease = api.get("taken").await.unwrap();
        lease.spec.as_mut().unwrap().holder_identity = Some("someone-else".into());
        api.replace("taken", &PostParams::default(), &lease).await.unwrap();
    });
    // The holder renews every 5 s and then finds the other holder.
    std::thread::sleep(Duration::from_secs(7));
    let (code, out) = run.approve();
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("another run took the Lease"), "{out}");
    assert!(out.contains("the apply lock was lost before any change was sent"), "{out}");
    assert_not_created(&spec, &format!("{prefix}t"));
    assert_eq!(holder(&ns.leases()[0]), "someone-else", "the loser does not release another's Lease");
}

/// Stopped before it sent anything (at its prompt, as when Kubernetes
/// deletes the pod), an apply releases the Lease on its way out.
#[test]
fn a_signal_before_the_writes_releases_the_lease() {
    let ns = TestNamespace::new("lease-signal");
    let ws = Workspace::new();
    let prefix = unique_prefix("sigterm");
    let spec = spec(&ws, &prefix, &["t"]);
    let run = PromptingApply::start(&spec, &format!("--lock kubernetes:{}/stopped", ns.name));
    run.wait_for_prompt();
    assert!(holder(&ns.leases()[0]).starts_with("topicform@"));
    let (code, out) = run.signal(libc::SIGTERM);
    assert_eq!(code, Some(143), "{out}");
    assert!(out.contains("stopping before any change was sent; releasing the apply lock"), "{out}");
    assert_eq!(holder(&ns.leases()[0]), "", "released at once, not left to expire");
    assert_not_created(&spec, &format!("{prefix}t"));
}

#[test]
fn each_run_records_its_status_and_an_event() {
    let ns = TestNamespace::new("status");
    let status = format!("kubernetes:{}", ns.name);
    let ws = Workspace::new();
    let prefix = unique_prefix("status");
    let three = ws.spec(&support::kafka_spec(broker(), "", &format!("  {prefix}orders.placed: {{ partitions: 3 }}\n")));

    // Applied: Ready, with what changed.
    let (code, _, stderr) =
        run(&["apply", "-e", "test", "--auto-approve", "--lock", "none", "--status", &status], &three);
    assert_eq!(code, Some(0), "{stderr}");
    let cm = ns.status("test");
    let data = cm.data.clone().unwrap();
    assert_eq!(data["ready"], "True");
    assert_eq!(data["reason"], "Applied");
    assert_eq!(data["message"], "1 created");
    assert_eq!(data["command"], "apply");
    assert!(data["specDigest"].starts_with("sha256:"), "{data:?}");
    assert!(data["plan"].starts_with("1 to create"), "{data:?}");
    assert!(!data["clusterId"].is_empty());
    let labels = cm.metadata.labels.clone().unwrap();
    assert_eq!(labels["topicform.dev/ready"], "True");
    assert_eq!(labels["topicform.dev/reason"], "Applied");
    let conditions: serde_json::Value = serde_json::from_str(&data["conditions"]).unwrap();
    assert_eq!(conditions[0]["type"], "Ready");
    assert_eq!(conditions[0]["status"], "True");
    let applied_at = data["lastTransitionTime"].clone();

    // In sync: still Ready, the transition time kept.
    std::thread::sleep(Duration::from_secs(1));
    let (code, _, stderr) = run(&["plan", "-e", "test", "--status", &status], &three);
    assert_eq!(code, Some(0), "{stderr}");
    let data = ns.status("test").data.unwrap();
    assert_eq!((data["reason"].as_str(), data["command"].as_str()), ("InSync", "plan"));
    assert_eq!(data["lastTransitionTime"], applied_at, "Ready did not change");

    // Refused: a partition decrease; nothing changes on the cluster.
    let one = ws.file(
        "one.yaml",
        &support::kafka_spec(broker(), "", &format!("  {prefix}orders.placed: {{ partitions: 1 }}\n")),
    );
    let (code, _, stderr) =
        run(&["apply", "-e", "test", "--auto-approve", "--lock", "none", "--status", &status], &one);
    assert_eq!(code, Some(1), "{stderr}");
    let data = ns.status("test").data.unwrap();
    assert_eq!((data["ready"].as_str(), data["reason"].as_str()), ("False", "Refused"));
    assert!(
        data["message"].contains(&format!("{prefix}orders.placed: ")) && data["message"].contains("partition"),
        "{data:?}"
    );
    assert_ne!(data["lastTransitionTime"], applied_at, "Ready changed");

    // Drift: what the CronJob's plan --detailed-exitcode finds.
    let more = ws.file(
        "more.yaml",
        &support::kafka_spec(
            broker(),
            "",
            &format!("  {prefix}orders.placed: {{ partitions: 3 }}\n  {prefix}orders.v2: {{}}\n"),
        ),
    );
    let (code, _, stderr) = run(&["plan", "-e", "test", "--detailed-exitcode", "--status", &status], &more);
    assert_eq!(code, Some(2), "{stderr}");
    let data = ns.status("test").data.unwrap();
    assert_eq!(data["reason"], "Drift");
    assert_eq!(data["message"], format!("1 change(s) not applied: create {prefix}orders.v2"));

    // A cluster that cannot be reached.
    let gone = ws.file("gone.yaml", &support::kafka_spec("127.0.0.1:1", "", &format!("  {prefix}x: {{}}\n")));
    let (code, _, stderr) = run(&["plan", "-e", "test", "--timeout", "3", "--status", &status], &gone);
    assert_eq!(code, Some(1), "{stderr}");
    let data = ns.status("test").data.unwrap();
    assert_eq!(data["reason"], "KafkaError");
    assert!(data["message"].contains("127.0.0.1:1"), "{data:?}");
    assert!(!data["clusterId"].is_empty(), "the last cluster id is kept");

    let events = ns.events();
    let seen: Vec<(&str, &str)> = events.iter().map(|(t, r, _)| (t.as_str(), r.as_str())).collect();
    assert_eq!(
        seen,
        [
            ("Normal", "Applied"),
            ("Normal", "InSync"),
            ("Warning", "Refused"),
            ("Warning", "Drift"),
            ("Warning", "KafkaError")
        ],
        "{events:?}"
    );
    assert_eq!(events[0].2, "1 created");
}

#[test]
fn outside_kubernetes_nothing_changes_and_asking_for_it_is_a_clear_error() {
    let ws = Workspace::new();
    let prefix = unique_prefix("nokube");
    let spec = spec(&ws, &prefix, &["t"]);
    let home = Workspace::new();
    // No kubeconfig, no ~/.kube/config, not in a pod.
    let no_kube = |args: &[&str], spec: &Path| {
        let out = topicform()
            .args(args)
            .arg("-f")
            .arg(spec)
            .env("HOME", home.dir.path())
            .env_remove("KUBECONFIG")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    // auto: the Kafka group lock, no status, as before.
    let (code, stderr) = no_kube(&["apply", "-e", "test", "--auto-approve"], &spec);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("Kubernetes"), "{stderr}");
    // Every other command too: none of them looks for Kubernetes unless asked.
    for args in [
        &["validate"][..],
        &["plan", "-e", "test", "--detailed-exitcode"],
        &["env", "-e", "test"],
        &["check", "-e", "test"],
        &["lag", "-e", "test"],
        &["export", "-e", "test", "--include", &prefix],
    ] {
        let (code, stderr) = no_kube(args, &spec);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("Kubernetes"), "{args:?}: {stderr}");
    }
    // Asked for, it says what is missing, and changes nothing.
    let more =
        ws.file("more.yaml", &support::kafka_spec(broker(), "", &format!("  {prefix}t: {{}}\n  {prefix}u: {{}}\n")));
    let (code, stderr) = no_kube(&["apply", "-e", "test", "--auto-approve", "--lock", "kubernetes"], &more);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("Kubernetes: cannot find a Kubernetes API server"), "{stderr}");
    assert!(stderr.contains("--lock none"), "the way out: {stderr}");
    assert_not_created(&more, &format!("{prefix}u"));
    // The spec's environment can name the lock too; `--lock` wins.
    let pinned = ws.file(
        "pinned.yaml",
        &support::kafka_spec(broker(), "    lock: kubernetes:nowhere\n", &format!("  {prefix}t: {{}}\n")),
    );
    let (code, stderr) = no_kube(&["apply", "-e", "test", "--auto-approve"], &pinned);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("cannot find a Kubernetes API server"), "{stderr}");
    let (code, stderr) = no_kube(&["apply", "-e", "test", "--auto-approve", "--lock", "none"], &pinned);
    assert_eq!(code, Some(0), "{stderr}");
}

impl TestNamespace {
    /// Creates a ConfigMap as the service chart renders one: labelled,
    /// with `topics.yaml`.
    fn contribute(&self, name: &str, topics_yaml: &str) {
        runtime().block_on(async {
            let api: Api<ConfigMap> = Api::namespaced(client().await, &self.name);
            let cm = serde_json::from_value(serde_json::json!({
                "metadata": { "name": name, "labels": { "topicform.dev/topics": "true" } },
                "data": { "topics.yaml": topics_yaml },
            }))
            .unwrap();
            api.create(&PostParams::default(), &cm).await.unwrap();
        });
        // Owners are ordered by creationTimestamp, in whole seconds.
        std::thread::sleep(Duration::from_millis(1100));
    }

    /// Deletes a ConfigMap: its release was uninstalled.
    fn uninstall(&self, name: &str) {
        runtime().block_on(async {
            let api: Api<ConfigMap> = Api::namespaced(client().await, &self.name);
            api.delete(name, &DeleteParams::default()).await.unwrap();
        });
    }

    /// (reason, note) of the Events about object `name`.
    fn events_about(&self, name: &str) -> Vec<(String, String)> {
        runtime().block_on(async {
            let api: Api<Event> = Api::namespaced(client().await, &self.name);
            let events = api.list(&ListParams::default()).await.unwrap().items;
            events
                .into_iter()
                .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
                .map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
                .collect()
        })
    }
}

/// `plan -o json` with the test cluster's kubeconfig.
fn plan_with_kubeconfig(spec: &Path, extra: &[&str]) -> serde_json::Value {
    let (code, stdout, stderr) = run(&[&["plan", "-e", "test", "-o", "json"], extra].concat(), spec);
    assert!(code == Some(0) || code == Some(1), "{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"))
}

/// Services' releases contribute topics through labelled ConfigMaps: two
/// are merged with the spec's own, a third that declares one of them
/// differently is refused (ResourceConflict) with both owners named, and an
/// uninstalled one's topics are orphaned: kept, until the spec's
/// `prune: true` and `--allow-delete` both say otherwise. On a broker of its
/// own (the prune tests'), since pruning deletes every unmanaged topic.
#[test]
fn contributed_topics_merge_conflict_and_orphan() {
    let (_one_at_a_time, broker) = prune_broker();
    let ns = TestNamespace::new("contrib");
    // A second namespace: releases installed elsewhere contribute too.
    let billing_ns = TestNamespace::new("contribb");
    let p = unique_prefix("contrib");
    let ws = Workspace::new();
    let from =
        format!("    from: {{ kubernetes: {{ namespaces: [{}, {}] }} }}\n    prune: true\n", ns.name, billing_ns.name);
    let spec = ws.spec(&support::kafka_spec(&broker, &from, &format!("  {p}central: {{}}\n")));
    let status = format!("kubernetes:{}", ns.name);
    let apply = |extra: &[&str]| {
        run(&[&["apply", "-e", "test", "--auto-approve", "--lock", "none", "--status", &status], extra].concat(), &spec)
    };

    ns.contribute(
        "orders-topics",
        &format!("topics:\n  {p}orders: {{ partitions: 2 }}\n  {p}shared: {{ partitions: 1, consumers: [orders] }}\n"),
    );
    ns.contribute(
        "payments-topics",
        &format!(
            "topics:\n  {p}payments: {{ config: {{ retention.ms: 1d }} }}\n  {p}shared: {{ consumers: [payments] }}\n"
        ),
    );
    billing_ns.contribute("billing-topics", &format!("topics:\n  {p}invoices: {{ consumers: [billing] }}\n"));
    let plan = plan_with_kubeconfig(&spec, &[]);
    let owner = |t: &str| support::topic_plan(&plan, &format!("{p}{t}"))["owner"].clone();
    assert_eq!(owner("central"), serde_json::Value::Null, "the spec's own topic");
    assert_eq!(owner("invoices"), format!("ConfigMap {}/billing-topics", billing_ns.name));
    assert_eq!(owner("orders"), format!("ConfigMap {}/orders-topics", ns.name));
    assert_eq!(owner("shared"), format!("ConfigMap {}/orders-topics", ns.name), "the one that defines it");
    assert_eq!(owner("payments"), format!("ConfigMap {}/payments-topics", ns.name));
    let (code, stdout, stderr) = apply(&[]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("Apply: 5 succeeded"), "{stdout}");
    let digest_of_two = ns.status("test").data.unwrap()["specDigest"].clone();

    // `lag` measures the groups the releases name, on the topics they
    // contribute: `payments` reads `shared` only through its ConfigMap.
    let (code, stdout, stderr) = run(&["lag", "-e", "test", "-o", "json"], &spec);
    assert_eq!(code, Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let topics_of = |group: &str| -> Vec<String> {
        let g = report["groups"].as_array().unwrap().iter().find(|g| g["group"] == group);
        let g = g.unwrap_or_else(|| panic!("no group {group}: {report:#}"));
        let mut topics: Vec<String> =
            g["partitions"].as_array().unwrap().iter().map(|p| p["topic"].as_str().unwrap().to_owned()).collect();
        topics.dedup();
        topics
    };
    assert_eq!(topics_of("payments"), [format!("{p}shared")]);
    assert_eq!(topics_of("orders"), [format!("{p}shared")]);
    assert_eq!(topics_of("billing"), [format!("{p}invoices")]);

    // A third release declares `orders` with other settings: refused, the
    // older declaration stands, everything else is still applied.
    ns.contribute("late-topics", &format!("topics:\n  {p}orders: {{ partitions: 5 }}\n  {p}late: {{}}\n"));
    let (code, stdout, stderr) = apply(&[]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let late = format!("ConfigMap {}/late-topics", ns.name);
    let orders = format!("ConfigMap {}/orders-topics", ns.name);
    assert!(stderr.contains("1 contributed topic declaration(s) refused (ResourceConflict)"), "{stderr}");
    assert!(
        stderr.contains(&format!("{late} declares `{p}orders` differently from {orders} (partitions: 2 vs 5)")),
        "{stderr}"
    );
    assert!(stdout.contains("Apply: 1 succeeded"), "`late` was created all the same: {stdout}");
    let plan = plan_with_kubeconfig(&spec, &[]);
    assert_eq!(support::topic_plan(&plan, &format!("{p}orders"))["action"], "unchanged", "still 2 partitions");
    assert_eq!(plan["summary"]["conflicts"], 1);
    let data = ns.status("test").data.unwrap();
    assert_eq!((data["ready"].as_str(), data["reason"].as_str()), ("False", "ResourceConflict"), "{data:?}");
    assert_ne!(data["specDigest"], digest_of_two, "the same spec file, one more ConfigMap: another input");
    eventually("the ResourceConflict Event on the refused ConfigMap", Duration::from_secs(30), || {
        ns.events_about("late-topics")
            .iter()
            .any(|(reason, note)| reason == "ResourceConflict" && note.contains(&orders))
    });
    ns.uninstall("late-topics");

    // Uninstalled: its topics are orphaned, named with their old owner,
    // and kept without --allow-delete.
    ns.uninstall("payments-topics");
    let plan = plan_with_kubeconfig(&spec, &[]);
    let payments = format!("ConfigMap {}/payments-topics", ns.name);
    assert_eq!(plan["orphaned"][format!("{p}payments")], payments.as_str(), "{plan:#}");
    assert!(plan["unmanaged"].as_array().unwrap().contains(&serde_json::json!(format!("{p}payments"))));
    assert_eq!(support::topic_plan(&plan, &format!("{p}shared"))["owner"], orders.as_str(), "still declared by orders");
    let (code, stdout, stderr) = apply(&[]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains(&format!("orphaned: {p}payments")), "{stderr}");
    assert!(
        plan_with_kubeconfig(&spec, &[])["orphaned"].get(format!("{p}payments")).is_some(),
        "still remembered while it exists"
    );

    // Both opt-ins: deleted, and forgotten.
    let (code, stdout, stderr) = apply(&["--allow-delete"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains(&format!("- delete  {p}payments")), "{stderr}");
    let plan = plan_with_kubeconfig(&spec, &[]);
    assert!(!plan["unmanaged"].as_array().unwrap().contains(&serde_json::json!(format!("{p}payments"))), "{plan:#}");
    assert!(plan.get("orphaned").is_none(), "{plan:#}");
    assert!(!ns.status("test").data.unwrap()["owners"].contains("payments"));
}

/// The prune broker's tests, one at a time: pruning deletes every topic
/// another test has not declared.
static PRUNE_BROKER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn prune_broker() -> (std::sync::MutexGuard<'static, ()>, String) {
    let guard = PRUNE_BROKER.lock().unwrap_or_else(|e| e.into_inner());
    (guard, support::start_broker("test-prune", support::test_port(100)))
}

/// A `topicform controller` process, its output in a file.
struct Controller {
    child: std::process::Child,
    log: PathBuf,
    probes: u16,
}

impl Controller {
    /// A controller whose interval (1 h) never comes within a test: what it
    /// does, it does because something changed.
    fn start(spec: &Path, ns: &TestNamespace, probes: u16) -> Controller {
        Controller::start_with_interval(spec, ns, probes, 3600)
    }

    fn start_with_interval(spec: &Path, ns: &TestNamespace, probes: u16, interval: u64) -> Controller {
        let log = spec.with_extension(format!("controller-{probes}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(assert_cmd::cargo::cargo_bin("topicform"))
            .args(["controller", "-e", "test", "--interval", &interval.to_string(), "--timeout", "5"])
            .args(["--log-format", "json"])
            .args([
                "--lock",
                &format!("kubernetes:{}/controller", ns.name),
                "--status",
                &format!("kubernetes:{}", ns.name),
            ])
            .args(["--probe-address", &format!("127.0.0.1:{probes}"), "-f"])
            .arg(spec)
            .env("KUBECONFIG", kubeconfig())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Controller { child, log, probes }
    }

    fn log(&self) -> String {
        let bytes = std::fs::read(&self.log).unwrap_or_default();
        support::secrets::assert_clean("the controller's log", &bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The HTTP status of `GET path` on the probe port, if it answers.
    fn probe(&self, path: &str) -> Option<u16> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.probes)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(stream, "GET {path} HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n").ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        answer.split_whitespace().nth(1)?.parse().ok()
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGTERM, as Kubernetes sends a deleted pod; the exit code.
    fn terminate(mut self) -> (Option<i32>, String) {
        // SAFETY: kill(2) on our own child, not yet waited for.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let started = Instant::now();
        while self.running() {
            assert!(started.elapsed() < Duration::from_secs(30), "the controller did not stop:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        (self.child.wait().unwrap().code(), self.log())
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The controller converges after a ConfigMap change, keeps running (and
/// catches up) while the broker is gone for a while, and hands leadership
/// to a standby replica when it is stopped as Kubernetes stops a pod.
#[test]
fn the_controller_converges_survives_a_broker_outage_and_hands_over() {
    let (_one_at_a_time, broker) = prune_broker();
    let ns = TestNamespace::new("controller");
    let p = unique_prefix("ctl");
    let ws = Workspace::new();
    let from = format!("    from: {{ kubernetes: {{ namespaces: [{}] }} }}\n", ns.name);
    let spec = ws.spec(&support::kafka_spec(&broker, &from, &format!("  {p}base: {{}}\n")));
    let exists = |topic: &str| {
        let plan = plan_with_kubeconfig(&spec, &[]);
        plan["topics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["topic"] == format!("{p}{topic}") && t["action"] == "unchanged")
    };
    let (port_a, port_b) = (support::test_port(450), support::test_port(451));

    let mut a = Controller::start(&spec, &ns, port_a);
    eventually("the first reconcile", Duration::from_secs(60), || exists("base"));
    assert_eq!(a.probe("/readyz"), Some(200), "{}", a.log());
    assert_eq!(a.probe("/healthz"), Some(200));
    let data = ns.status("test").data.unwrap();
    assert_eq!((data["command"].as_str(), data["ready"].as_str()), ("controller", "True"), "{data:?}");

    // A ConfigMap change is seen (a watch), not left for the interval (1 h).
    ns.contribute("added-topics", &format!("topics:\n  {p}added: {{ partitions: 2 }}\n"));
    eventually("the contributed topic, after the ConfigMap change", Duration::from_secs(30), || exists("added"));

    // A run that finds what the last one found records it, without a new
    // Event every interval.
    ns.contribute("nothing-topics", "topics: {}\n");
    eventually("an InSync run", Duration::from_secs(30), || ns.status("test").data.unwrap()["reason"] == "InSync");
    let events_before = ns.events_about("topicform-status-test").len();
    let last_run = ns.status("test").data.unwrap()["lastRunTime"].clone();
    ns.contribute("nothing-more-topics", "topics: {}\n");
    eventually("a run after the empty ConfigMap", Duration::from_secs(30), || {
        ns.status("test").data.unwrap()["lastRunTime"] != last_run
    });
    assert_eq!(ns.status("test").data.unwrap()["reason"], "InSync");
    // The Event would follow the status write at once.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(ns.events_about("topicform-status-test").len(), events_before, "no Event for the same news");

    // The broker goes away for a while: runs fail (KafkaError), the
    // controller stays up and healthy, and catches up once it is back.
    let stop_broker = Command::new("bash")
        .arg(repo().join("deploy/local/kafka.sh"))
        .arg("stop")
        .env("KAFKA_INSTANCE", "test-prune")
        .output()
        .unwrap();
    assert!(stop_broker.status.success(), "{}", String::from_utf8_lossy(&stop_broker.stderr));
    ns.contribute("during-topics", &format!("topics:\n  {p}during: {{}}\n"));
    eventually("KafkaError in the status", Duration::from_secs(60), || {
        ns.status("test").data.unwrap()["reason"] == "KafkaError"
    });
    assert!(a.running(), "{}", a.log());
    assert_eq!(a.probe("/healthz"), Some(200));
    support::start_broker("test-prune", support::test_port(100));
    eventually("the topic added while the broker was away", Duration::from_secs(120), || exists("during"));
    assert!(a.log().contains("reconcile failed"), "{}", a.log());

    // A standby waits; stopping the leader hands the Lease over at once.
    let mut b = Controller::start(&spec, &ns, port_b);
    eventually("the standby is ready", Duration::from_secs(30), || b.probe("/readyz") == Some(200));
    let leader = holder(&ns.leases()[0]);
    assert!(b.running());
    let (code, log_a) = a.terminate();
    assert_eq!(code, Some(0), "{log_a}");
    let stopped = Instant::now();
    eventually("the standby takes the Lease", Duration::from_secs(20), || {
        let now = holder(&ns.leases()[0]);
        !now.is_empty() && now != leader
    });
    assert!(stopped.elapsed() < Duration::from_secs(10), "released, not expired: {:?}", stopped.elapsed());
    ns.contribute("after-topics", &format!("topics:\n  {p}after: {{}}\n"));
    eventually("the new leader reconciles", Duration::from_secs(60), || exists("after"));
    let (code, log_b) = b.terminate();
    assert_eq!(code, Some(0), "{log_b}");
    assert_eq!(holder(&ns.leases()[0]), "", "released on the way out");
}

/// Deletes `topic` behind topicform's back, as an operator with Kafka's own
/// tools would.
fn delete_out_of_band(broker: &str, topic: &str) {
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::ClientConfig;
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", broker).create().unwrap();
    let results = runtime().block_on(admin.delete_topics(&[topic], &AdminOptions::new())).unwrap();
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
}

/// The controller also follows its spec file (read again when it changes)
/// and its interval (drift repaired without any change), and refuses what
/// apply refuses: a partition decrease is `Refused` and the topic keeps its
/// partitions; a topic dropped from a `prune: true` spec stays without
/// `--allow-delete`.
#[test]
fn the_controller_follows_its_spec_file_and_interval_and_refuses_what_apply_refuses() {
    let (_one_at_a_time, broker) = prune_broker();
    let ns = TestNamespace::new("ctlspec");
    let p = unique_prefix("ctls");
    let ws = Workspace::new();
    let write = |topics: &str| ws.spec(&support::kafka_spec(&broker, "    prune: true\n", topics));
    let spec = write(&format!("  {p}base: {{ partitions: 2 }}\n"));
    let action = |topic: &str| {
        let plan = plan_with_kubeconfig(&spec, &[]);
        plan["topics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["topic"] == format!("{p}{topic}"))
            .map_or(serde_json::Value::Null, |t| t["action"].clone())
    };
    let status = |key: &str| ns.status("test").data.unwrap_or_default().get(key).cloned().unwrap_or_default();
    let mut c = Controller::start_with_interval(&spec, &ns, support::test_port(452), 10);
    eventually("the first reconcile", Duration::from_secs(60), || action("base") == "unchanged");

    // The spec file changes (a ConfigMap mount is updated in place): seen
    // within seconds, not left for the interval.
    write(&format!("  {p}base: {{ partitions: 2 }}\n  {p}edited: {{}}\n"));
    eventually("the topic the edited spec adds", Duration::from_secs(30), || action("edited") == "unchanged");

    // A partition decrease: refused, as apply refuses it, and nothing of
    // that run is applied.
    write(&format!("  {p}base: {{ partitions: 1 }}\n  {p}edited: {{}}\n  {p}later: {{}}\n"));
    eventually("Refused in the status", Duration::from_secs(30), || status("reason") == "Refused");
    assert_eq!(action("base"), "refused");
    assert_eq!(action("later"), "create", "a refused plan applies nothing");
    assert!(c.running(), "{}", c.log());

    // `edited` leaves the spec; `prune: true` without --allow-delete keeps it.
    write(&format!("  {p}base: {{ partitions: 2 }}\n"));
    let digest = status("specDigest");
    eventually("a run with the new spec", Duration::from_secs(30), || {
        status("specDigest") != digest && status("reason") == "InSync"
    });
    let plan = plan_with_kubeconfig(&spec, &[]);
    assert!(plan["unmanaged"].as_array().unwrap().contains(&serde_json::json!(format!("{p}edited"))), "kept: {plan:#}");

    // Drift with no change to any input: the interval (10 s) repairs it.
    delete_out_of_band(&broker, &format!("{p}base"));
    eventually("the deleted topic is missing", Duration::from_secs(10), || action("base") == "create");
    eventually("the interval's reconcile recreates it", Duration::from_secs(40), || action("base") == "unchanged");
    let (code, log) = c.terminate();
    assert_eq!(code, Some(0), "{log}");
}
