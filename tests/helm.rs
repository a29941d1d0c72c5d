//! The Helm charts (helm/), rendered with the pinned helm that
//! deploy/tools/helm.sh builds into `${TOPICFORM_TOOLS:-$HOME/.cache/topicform/tools}/bin`.
//! Never skipped: without that helm every test fails, saying how to install it.
//!
//! The contract checked here: the services' (and the topicform Job's) broker
//! environment equals `topicform env` for the same profile (DESIGN section 5);
//! secrets only through secretKeyRef (and no chart-made Secret as a hook
//! without an opt-in); hook annotations; the restricted securityContext on
//! every pod of every chart's every ci/ values file; workload identity wiring
//! (the topicform Job never borrows the services' identity); the checksum that
//! rolls the pods; the plain Job's spec-hashed name; and local vs Event Hubs
//! renders that differ only in broker fields. Lint, Kubernetes-schema
//! validation and bad-values cases are deploy/test-helm.sh.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Value};
use support::{repo, topicform};

/// The profiles of the platform's values files (tests/testdata/helm/platform.yaml).
const SPEC: &str = "tests/testdata/helm/platform.yaml";
/// A made-up connection string: it must never appear in any rendered manifest.
const CONNECTION_STRING: &str =
    "Endpoint=sb://etelios-prod.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=helm-test-secret-4f1c";
/// A made-up password given to the charts' development-only Secrets.
const DEV_PASSWORD: &str = "helm-test-password-9b2e";

// ---- tools and rendering ---------------------------------------------------

fn tools_bin() -> PathBuf {
    let base = std::env::var_os("TOPICFORM_TOOLS").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/topicform/tools")
    });
    base.join("bin")
}

fn helm() -> PathBuf {
    let helm = tools_bin().join("helm");
    assert!(
        helm.is_file(),
        "helm is missing at {}: run deploy/tools/helm.sh (builds the pinned helm from the Go module proxy; \
         deploy/setup.sh runs it)",
        helm.display()
    );
    helm
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of helm/ with the dependencies of the charts that have some built
/// (the topicform-broker library chart; the platform's subcharts), once per
/// test run (the work tree is never written).
fn charts() -> &'static Path {
    static CHARTS: OnceLock<tempfile::TempDir> = OnceLock::new();
    CHARTS
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            copy_dir(&repo().join("helm"), &dir.path().join("helm"));
            for name in ["platform", "service", "topicform"] {
                let chart = dir.path().join("helm").join(name);
                let _ = std::fs::remove_dir_all(chart.join("charts"));
                let _ = std::fs::remove_file(chart.join("Chart.lock"));
                let out = Command::new(helm()).arg("dependency").arg("build").arg(&chart).output().unwrap();
                assert!(out.status.success(), "helm dependency build {name}: {}", String::from_utf8_lossy(&out.stderr));
            }
            dir
        })
        .path()
}

fn helm_template(chart: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(helm());
    cmd.args(["template", chart, "--namespace", "etelios"]).arg(charts().join("helm").join(chart));
    cmd.args(args).current_dir(repo());
    cmd.output().unwrap()
}

/// Renders `chart` (release name = chart name) and parses every document.
fn render(chart: &str, args: &[&str]) -> Vec<Value> {
    let out = helm_template(chart, args);
    assert!(out.status.success(), "helm template {chart} {args:?}:\n{}", String::from_utf8_lossy(&out.stderr));
    parse_docs(&String::from_utf8(out.stdout).unwrap())
}

/// Splits helm's output into documents; every scalar is a string (marked-yaml).
fn parse_docs(text: &str) -> Vec<Value> {
    let mut docs = Vec::new();
    for doc in text.split("\n---\n").flat_map(|d| d.split("---\n")) {
        if doc.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
            continue;
        }
        let value: Value = marked_yaml::from_yaml(0, doc).unwrap_or_else(|e| panic!("{e}:\n{doc}"));
        docs.push(value);
    }
    docs
}

fn raw_render(chart: &str, args: &[&str]) -> String {
    let out = helm_template(chart, args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The spec of the example platform, for the charts that need one.
fn spec_arg(key: &str) -> String {
    format!("{key}={}", repo().join("examples/etelios/topicform.yaml").display())
}

fn platform(values: &[&str], extra: &[&str]) -> Vec<Value> {
    let spec = spec_arg("topicform.spec");
    let mut args: Vec<&str> = vec!["--set-file", &spec];
    for v in values {
        args.extend(["-f", v]);
    }
    args.extend(extra);
    render("platform", &args)
}

fn kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn named<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// (description, pod spec, pod metadata) of every workload in `docs`.
fn pods(docs: &[Value]) -> Vec<(String, &Value, &Value)> {
    let mut pods = Vec::new();
    for d in docs {
        let what = format!("{} {}", d["kind"].as_str().unwrap_or("?"), d["metadata"]["name"].as_str().unwrap_or("?"));
        let template = match d["kind"].as_str() {
            Some("Deployment" | "StatefulSet" | "Job") => &d["spec"]["template"],
            Some("CronJob") => &d["spec"]["jobTemplate"]["spec"]["template"],
            Some("Pod") => d,
            _ => continue,
        };
        pods.push((what, &template["spec"], &template["metadata"]));
    }
    pods
}

/// The KAFKA_* entries of a pod's first container, in order: name -> value or
/// `{"secretKeyRef": {...}}`.
fn kafka_env(pod: &Value) -> Vec<(String, Value)> {
    let env = pod["containers"][0]["env"].as_array().cloned().unwrap_or_default();
    env.iter()
        .filter(|e| e["name"].as_str().is_some_and(|n| n.starts_with("KAFKA_")))
        .map(|e| {
            let name = e["name"].as_str().unwrap().to_owned();
            let value = if e.get("valueFrom").is_some() {
                assert!(e.get("value").is_none(), "{name} has both value and valueFrom");
                e["valueFrom"].clone()
            } else {
                e["value"].clone()
            };
            (name, value)
        })
        .collect()
}

fn topicform_env(profile: &str, format: &str) -> String {
    let out = topicform()
        .args(["env", "-f", SPEC, "-e", profile, "--format", format])
        .env("TEST_EVENTHUBS_CONNECTION_STRING", CONNECTION_STRING)
        .env_remove("KAFKA_BROKERS")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `topicform env --format helm-values` as parsed YAML (the `broker:` block).
fn helm_values_broker(profile: &str) -> Value {
    let text = topicform_env(profile, "helm-values");
    marked_yaml::from_yaml::<Value>(0, &text).unwrap()["broker"].clone()
}

fn values_file(path: &str) -> Value {
    marked_yaml::from_yaml(0, &std::fs::read_to_string(repo().join(path)).unwrap()).unwrap()
}

/// The topicform Job's own Azure identity in the example files.
const JOB_ID: &str = "99999999-8888-7777-6666-555555555555";

/// `broker.management`: the topicform Job's own Azure identity (required on Event Hubs).
fn management() -> Value {
    json!({ "workloadIdentity": { "clientId": JOB_ID } })
}

fn write_temp(dir: &tempfile::TempDir, name: &str, value: &Value) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    path.to_str().unwrap().to_owned()
}

// ---- the broker environment contract ----------------------------------------

/// The shipped values files' `broker:` blocks are what `topicform env
/// --format helm-values` prints for the same profile (plus `environment`,
/// `workloadIdentity` and `management`, which only the charts read).
#[test]
fn shipped_broker_blocks_are_topicform_env_helm_values() {
    for (file, profile) in
        [("helm/platform/values-local.yaml", "local"), ("helm/platform/values-eventhubs.yaml", "eventhubs-plain")]
    {
        let mut shipped = values_file(file)["broker"].clone();
        let map = shipped.as_object_mut().unwrap();
        map.remove("environment");
        map.remove("workloadIdentity");
        map.remove("management");
        assert_eq!(shipped, helm_values_broker(profile), "{file} vs topicform env -e {profile}");
    }
}

/// Every service, its `helm test` pod and the topicform Job get exactly the
/// variables of `topicform env --format json`, in contract order; secret ones
/// as secretKeyRef to the Secret `topicform env` names (kafka-broker).
#[test]
fn services_env_equals_topicform_env_for_local_plain_and_oauthbearer() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        // (profile, values files): the shipped files, and topicform's own
        // helm-values output taken as is over values-local.yaml.
        ("local", vec!["helm/platform/values-local.yaml".to_owned()]),
        ("eventhubs-plain", vec!["helm/platform/values-eventhubs.yaml".to_owned()]),
        // (An Event Hubs broker needs the topicform Job's own identity, broker.management.)
        ("eventhubs-plain", {
            let mut broker = helm_values_broker("eventhubs-plain");
            broker["management"] = management();
            vec![
                "helm/platform/values-local.yaml".to_owned(),
                write_temp(&tmp, "plain.json", &json!({ "broker": broker })),
            ]
        }),
        ("eventhubs-oauth", {
            let mut broker = helm_values_broker("eventhubs-oauth");
            broker["workloadIdentity"] = json!({ "clientId": "11111111-2222-3333-4444-555555555555" });
            broker["management"] = management();
            vec![
                "helm/platform/values-local.yaml".to_owned(),
                write_temp(&tmp, "oauth.json", &json!({ "broker": broker })),
            ]
        }),
    ];
    for (profile, files) in cases {
        let expected: Value = serde_json::from_str(&topicform_env(profile, "json")).unwrap();
        let expected = expected.as_object().unwrap();
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        let docs = platform(&files, &[]);
        let all = pods(&docs);
        // 5 Deployments, 5 test pods, the Job.
        assert_eq!(all.len(), 11, "{profile}: {:?}", all.iter().map(|p| &p.0).collect::<Vec<_>>());
        for (what, pod, _) in all {
            let env = kafka_env(pod);
            let names: Vec<&str> = env.iter().map(|(n, _)| n.as_str()).collect();
            let want: Vec<&str> = expected.keys().map(String::as_str).collect();
            assert_eq!(names, want, "{profile}: {what}: variables");
            for (name, value) in env {
                match &expected[&name] {
                    Value::String(s) => assert_eq!(value, json!(s), "{profile}: {what}: {name}"),
                    reference => {
                        assert!(reference.get("secretRef").is_some(), "{reference}");
                        assert_eq!(
                            value,
                            json!({ "secretKeyRef": { "name": "kafka-broker", "key": name } }),
                            "{profile}: {what}: {name} must be a secretKeyRef"
                        );
                    }
                }
            }
        }
    }
}

/// The service chart on its own gives the same variables as in the platform.
#[test]
fn service_chart_alone_gives_the_same_env() {
    for (ci, profile) in [("local-values.yaml", "local"), ("eventhubs-plain-values.yaml", "eventhubs-plain")] {
        let tmp = tempfile::tempdir().unwrap();
        let broker = write_temp(&tmp, "broker.json", &json!({ "broker": helm_values_broker(profile) }));
        let docs = render("service", &["-f", &format!("helm/service/ci/{ci}"), "-f", &broker]);
        let expected: Value = serde_json::from_str(&topicform_env(profile, "json")).unwrap();
        let deployment = &kind(&docs, "Deployment")[0]["spec"]["template"]["spec"];
        let names: Vec<String> = kafka_env(deployment).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, expected.as_object().unwrap().keys().cloned().collect::<Vec<_>>(), "{profile}");
    }
}

// ---- secrets ----------------------------------------------------------------

/// Secret values reach only Secret objects; env uses secretKeyRef and never a
/// plain value for KAFKA_SASL_PASSWORD / KAFKA_SASL_USERNAME from a Secret.
#[test]
fn secrets_only_through_secret_key_ref() {
    let password = format!("brokerSecret.stringData.KAFKA_SASL_PASSWORD={DEV_PASSWORD}");
    let renders = [
        raw_render(
            "platform",
            &[
                "--set-file",
                &spec_arg("topicform.spec"),
                "-f",
                "helm/platform/ci/dev-secret-values.yaml",
                "--set",
                &password,
            ],
        ),
        raw_render(
            "platform",
            &["--set-file", &spec_arg("topicform.spec"), "-f", "helm/platform/values-eventhubs.yaml"],
        ),
        raw_render(
            "topicform",
            &[
                "--set-file",
                &spec_arg("spec"),
                "-f",
                "helm/topicform/ci/job-values.yaml",
                "--set",
                &format!("credentials.values.KAFKA_PASSWORD={DEV_PASSWORD}"),
            ],
        ),
        raw_render("service", &["-f", "helm/service/ci/scram-dev-secret-values.yaml", "--set", &password]),
    ];
    for text in &renders {
        assert!(
            !text.contains(CONNECTION_STRING) && !text.contains("helm-test-secret"),
            "the connection string leaked"
        );
        let docs = parse_docs(text);
        let mut secrets = 0;
        for d in &docs {
            let serialized = d.to_string();
            if d["kind"] == "Secret" {
                secrets += usize::from(serialized.contains(DEV_PASSWORD));
                continue;
            }
            assert!(!serialized.contains(DEV_PASSWORD), "a secret outside a Secret: {d:#}");
        }
        assert!(secrets <= 1);
        for (what, pod, _) in pods(&docs) {
            for (name, value) in kafka_env(pod) {
                if name == "KAFKA_SASL_PASSWORD" {
                    assert!(value.get("secretKeyRef").is_some(), "{what}: {name} = {value}");
                }
            }
        }
        for cm in kind(&docs, "ConfigMap") {
            let data = cm["data"].to_string();
            assert!(!data.contains("KAFKA_SASL_PASSWORD") && !data.contains(DEV_PASSWORD), "{cm:#}");
        }
    }
    // The development Secret exists where asked for, and holds the value.
    let docs = parse_docs(&renders[0]);
    let secret = named(&docs, "Secret", "kafka-broker");
    assert_eq!(secret["stringData"]["KAFKA_SASL_PASSWORD"], DEV_PASSWORD);
}

/// A literal password in the broker block is a schema error.
#[test]
fn a_literal_password_is_refused_by_the_schema() {
    let out = helm_template(
        "service",
        &["--set", "image.repository=x", "--set-string", "image.tag=1", "--set", "broker.saslPassword=hunter2"],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("values don't meet the specifications of the schema"), "{stderr}");
    assert!(stderr.contains("saslPassword"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("hunter2"));
}

// ---- hooks, security, identity ------------------------------------------------

fn annotation<'a>(doc: &'a Value, key: &str) -> Option<&'a str> {
    doc["metadata"]["annotations"][key].as_str()
}

#[test]
fn hook_mode_runs_the_job_and_its_prerequisites_as_ordered_hooks() {
    let docs = render("topicform", &["--set-file", &spec_arg("spec"), "-f", "helm/topicform/ci/hook-values.yaml"]);
    let job = &kind(&docs, "Job")[0];
    assert_eq!(annotation(job, "helm.sh/hook"), Some("pre-install,pre-upgrade"));
    assert_eq!(annotation(job, "helm.sh/hook-delete-policy"), Some("before-hook-creation"));
    let job_weight: i64 = annotation(job, "helm.sh/hook-weight").unwrap().parse().unwrap();
    assert_eq!(job_weight, 5);
    for k in ["ServiceAccount", "Role", "RoleBinding", "ConfigMap"] {
        let d = kind(&docs, k);
        assert_eq!(d.len(), 1, "{k}");
        assert_eq!(annotation(d[0], "helm.sh/hook"), Some("pre-install,pre-upgrade"), "{k}");
        assert_eq!(annotation(d[0], "helm.sh/hook-delete-policy"), Some("before-hook-creation"), "{k}");
        let w: i64 = annotation(d[0], "helm.sh/hook-weight").unwrap().parse().unwrap();
        assert!(w < job_weight, "{k} must be created before the Job");
        // Helm's ownership record, so an upgrade to `mode: job` adopts it
        // instead of failing with "exists and cannot be imported".
        assert_eq!(annotation(d[0], "meta.helm.sh/release-name"), Some("topicform"), "{k}");
        assert_eq!(annotation(d[0], "meta.helm.sh/release-namespace"), Some("etelios"), "{k}");
        assert_eq!(d[0]["metadata"]["labels"]["app.kubernetes.io/managed-by"].as_str(), Some("Helm"), "{k}");
    }
    let spec = &job["spec"];
    assert_eq!(spec["backoffLimit"], "2");
    assert_eq!(spec["activeDeadlineSeconds"], "900");
    assert_eq!(spec["ttlSecondsAfterFinished"], "86400");
    let args: Vec<&str> = spec["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(&args[..6], ["apply", "-f", "/etc/topicform/topicform.yaml", "-e", "local", "--auto-approve"]);
    assert!(args.windows(2).any(|w| w == ["--log-format", "json"]), "{args:?}");
    assert!(args.contains(&"--prune-config"));
    // The drift CronJob: plan --detailed-exitcode, no retry.
    let cron = &kind(&docs, "CronJob")[0];
    assert!(annotation(cron, "helm.sh/hook").is_none());
    let cron_job = &cron["spec"]["jobTemplate"]["spec"];
    assert_eq!(cron_job["backoffLimit"], "0");
    let cron_args = cron_job["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(cron_args.contains("\"plan\"") && cron_args.contains("--detailed-exitcode"), "{cron_args}");

    // Plain-Job mode: no hook annotations anywhere.
    let docs = render("topicform", &["--set-file", &spec_arg("spec"), "--set", "environment=local,mode=job"]);
    for d in &docs {
        assert!(annotation(d, "helm.sh/hook").is_none(), "{d:#}");
    }
}

/// (name, value) of the TOPICFORM_POLICY variable and the policy mounts of
/// the first container of a pod.
fn policy_wiring(pod: &Value) -> (Option<String>, Vec<(String, String)>) {
    let container = &pod["containers"][0];
    let env = container["env"].as_array().unwrap().iter().find(|e| e["name"] == "TOPICFORM_POLICY");
    let volumes = pod["volumes"].as_array().unwrap();
    let mounts = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["name"].as_str().unwrap().starts_with("policy-"))
        .map(|m| {
            assert_eq!(m["readOnly"], "true");
            let volume = volumes.iter().find(|v| v["name"] == m["name"]).expect("the mount's volume");
            (m["mountPath"].as_str().unwrap().to_owned(), volume["configMap"]["name"].as_str().unwrap().to_owned())
        })
        .collect();
    (env.map(|e| e["value"].as_str().unwrap().to_owned()), mounts)
}

#[test]
fn shared_policy_files_reach_every_topicform_pod_and_a_changed_one_runs_the_job_again() {
    let tmp = tempfile::tempdir().unwrap();
    let policy = tmp.path().join("platform-policy.yaml");
    std::fs::write(&policy, "partitions: { min: 3 }\n").unwrap();
    let policy_arg = format!("policy.file={}", policy.display());
    let spec = spec_arg("spec");
    let base = ["--set-file", spec.as_str(), "--set", "environment=local,drift.enabled=true"];

    let docs = render(
        "topicform",
        &[&base[..], &["--set-file", &policy_arg, "--set", "policy.existingConfigMap=platform-rules"]].concat(),
    );
    let release_policy = named(&docs, "ConfigMap", "topicform-policy");
    assert_eq!(release_policy["data"]["policy.yaml"], "partitions: { min: 3 }");
    // In hook mode (the default) the file exists before the hook Job reads it.
    assert_eq!(annotation(release_policy, "helm.sh/hook"), Some("pre-install,pre-upgrade"));
    let both = (
        Some("/etc/topicform-policy/release/policy.yaml,/etc/topicform-policy/shared/policy.yaml".to_owned()),
        vec![
            ("/etc/topicform-policy/release".to_owned(), "topicform-policy".to_owned()),
            ("/etc/topicform-policy/shared".to_owned(), "platform-rules".to_owned()),
        ],
    );
    // The apply Job and the drift CronJob (plan) both check the policy.
    let wired = pods(&docs);
    assert_eq!(wired.len(), 2, "{wired:?}");
    for (what, pod, _) in wired {
        assert_eq!(policy_wiring(pod), both, "{what}");
    }

    // The shared ConfigMap alone: no release ConfigMap, one path.
    let docs = render("topicform", &[&base[..], &["--set", "policy.existingConfigMap=platform-rules"]].concat());
    assert!(!docs.iter().any(|d| d["metadata"]["name"] == "topicform-policy"));
    let (env, mounts) = policy_wiring(pods(&docs)[0].1);
    assert_eq!(env.as_deref(), Some("/etc/topicform-policy/shared/policy.yaml"));
    assert_eq!(mounts.len(), 1);

    // None: no variable, no mounts (the spec's own `policy:` still applies).
    let docs = render("topicform", &base);
    assert_eq!(policy_wiring(pods(&docs)[0].1), (None, vec![]));

    // Mode job: a changed policy file is a new Job, as a changed spec is.
    let job_name = |extra: &[&str]| {
        let docs = render("topicform", &[&base[..], &["--set", "mode=job"], extra].concat());
        kind(&docs, "Job")[0]["metadata"]["name"].as_str().unwrap().to_owned()
    };
    let with_policy = job_name(&["--set-file", &policy_arg]);
    assert_ne!(with_policy, job_name(&[]));
    std::fs::write(&policy, "partitions: { min: 6 }\n").unwrap();
    assert_ne!(with_policy, job_name(&["--set-file", &policy_arg]), "a changed policy must run a new Job");

    // The platform chart passes `topicform.policy` through.
    let docs =
        platform(&["helm/platform/values-local.yaml"], &["--set", "topicform.policy.existingConfigMap=platform-rules"]);
    let job =
        kind(&docs, "Job").into_iter().find(|j| j["metadata"]["name"].as_str().unwrap().contains("topicform")).unwrap();
    let (env, _) = policy_wiring(&job["spec"]["template"]["spec"]);
    assert_eq!(env.as_deref(), Some("/etc/topicform-policy/shared/policy.yaml"));
}

/// The values files every chart is checked with: each chart's every `ci/*.yaml`
/// (as deploy/test-helm.sh lints them), plus the platform's example values.
/// Library charts (topicform-broker) render nothing of their own and have none.
fn every_values_file() -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut charts: Vec<_> = std::fs::read_dir(repo().join("helm"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Chart.yaml").is_file())
        .filter(|p| {
            let chart = std::fs::read_to_string(p.join("Chart.yaml")).unwrap();
            !chart.lines().any(|l| l.trim() == "type: library")
        })
        .collect();
    charts.sort();
    for chart in charts {
        let name = chart.file_name().unwrap().to_str().unwrap().to_owned();
        let mut ci: Vec<String> = std::fs::read_dir(chart.join("ci"))
            .map(|d| d.map(|e| e.unwrap().file_name().into_string().unwrap()).collect())
            .unwrap_or_default();
        ci.retain(|f| f.ends_with(".yaml"));
        ci.sort();
        assert!(!ci.is_empty(), "helm/{name}/ci has no values file");
        files.extend(ci.into_iter().map(|f| (name.clone(), format!("helm/{name}/ci/{f}"))));
    }
    for f in ["helm/platform/values-local.yaml", "helm/platform/values-eventhubs.yaml"] {
        files.push(("platform".to_owned(), f.to_owned()));
    }
    files
}

#[test]
fn every_pod_has_the_restricted_security_context() {
    let spec = spec_arg("spec");
    let platform_spec = spec_arg("topicform.spec");
    let mut renders: Vec<(String, Vec<Value>)> = Vec::new();
    let files = every_values_file();
    for chart in ["topicform", "service", "kafka-local", "platform"] {
        assert!(files.iter().any(|(c, _)| c == chart), "no values file of {chart}");
    }
    for (chart, f) in &files {
        let mut args = vec!["-f", f.as_str()];
        match chart.as_str() {
            "topicform" => args.extend(["--set-file", spec.as_str()]),
            "platform" => args.extend(["--set-file", platform_spec.as_str()]),
            _ => {}
        }
        let docs = render(chart, &args);
        assert!(!pods(&docs).is_empty(), "{chart} -f {f}: no pod rendered");
        renders.push((format!("{chart} -f {f}"), docs));
    }
    let mut checked = 0;
    for (name, docs) in &renders {
        for (what, pod, _) in pods(docs) {
            let psc = &pod["securityContext"];
            assert_eq!(psc["runAsNonRoot"], "true", "{name}: {what}");
            assert_eq!(psc["seccompProfile"]["type"], "RuntimeDefault", "{name}: {what}");
            let init = pod["initContainers"].as_array().into_iter().flatten();
            for c in pod["containers"].as_array().unwrap().iter().chain(init) {
                let sc = &c["securityContext"];
                let at = format!("{name}: {what}: container {}", c["name"]);
                assert_eq!(sc["allowPrivilegeEscalation"], "false", "{at}");
                assert_eq!(sc["readOnlyRootFilesystem"], "true", "{at}");
                assert_eq!(sc["runAsNonRoot"], "true", "{at}");
                assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{at}");
                assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{at}");
                assert!(c["resources"]["limits"]["memory"].is_string(), "{at}: memory limit");
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "only {checked} containers checked");
}

#[test]
fn workload_identity_wiring() {
    let docs = platform(&["helm/platform/ci/eventhubs-oauth-values.yaml"], &[]);
    let sa = |name: &str| annotation(named(&docs, "ServiceAccount", name), "azure.workload.identity/client-id");
    // The topicform Job: its own identity (ServiceAccount `topicform`, as Terraform federates it).
    assert_eq!(sa("topicform"), Some(JOB_ID));
    // Services: the broker's identity unless their own is set; ServiceAccount = service name.
    assert_eq!(sa("auth-service"), Some("11111111-2222-3333-4444-555555555555"));
    assert_eq!(sa("notification-service"), Some("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"));
    assert!(docs.iter().all(|d| d["metadata"]["name"] != "inventory-service"), "a disabled service was rendered");
    for (what, pod, meta) in pods(&docs) {
        assert_eq!(meta["labels"]["azure.workload.identity/use"], "true", "{what}");
        let sa_name = pod["serviceAccountName"].as_str().unwrap();
        assert!(sa(sa_name).is_some(), "{what} runs as {sa_name}, which has no client id");
    }
    // Local: no workload identity anywhere.
    let local = platform(&["helm/platform/values-local.yaml"], &[]);
    let text = Value::Array(local).to_string();
    assert!(!text.contains("azure.workload.identity"), "{text}");
    // The ServiceAccount names other modules rely on, overridable.
    let docs = platform(
        &["helm/platform/values-local.yaml"],
        &[
            "--set",
            "topicform.serviceAccount.name=tf-apply",
            "--set",
            "services[0].name=auth-service,services[0].image.repository=x,services[0].serviceAccount.name=auth",
        ],
    );
    named(&docs, "ServiceAccount", "tf-apply");
    named(&docs, "ServiceAccount", "auth");
    assert_eq!(kind(&docs, "Job")[0]["spec"]["template"]["spec"]["serviceAccountName"], "tf-apply");
}

/// Least privilege: the topicform Job never gets the services' data-plane
/// identity (`broker.workloadIdentity.clientId`), and the services never get
/// the Job's (`broker.management.workloadIdentity.clientId`); on Event Hubs
/// the Job needs its own, from `broker.management` or the explicit override
/// `topicform.azure.workloadIdentity.clientId` (which wins).
#[test]
fn the_topicform_job_never_inherits_the_services_identity() {
    const SERVICES_ID: &str = "11111111-2222-3333-4444-555555555555";
    const OVERRIDE_ID: &str = "77777777-6666-5555-4444-333333333333";
    let sa = |docs: &[Value], name: &str| {
        annotation(named(docs, "ServiceAccount", name), "azure.workload.identity/client-id").map(str::to_owned)
    };
    let job_labels = |docs: &[Value]| kind(docs, "Job")[0]["spec"]["template"]["metadata"]["labels"].clone();
    // The shipped Event Hubs example: the Job has its own identity (broker.management),
    // the services (PLAIN) none, and nothing else carries the Job's client id.
    let docs = platform(&["helm/platform/values-eventhubs.yaml"], &[]);
    assert_eq!(sa(&docs, "topicform").as_deref(), Some(JOB_ID));
    assert_eq!(job_labels(&docs)["azure.workload.identity/use"], "true");
    assert_eq!(sa(&docs, "auth-service"), None);
    let with_job_id: Vec<String> = docs
        .iter()
        .filter(|d| d.to_string().contains(JOB_ID))
        .map(|d| format!("{} {}", d["kind"].as_str().unwrap(), d["metadata"]["name"].as_str().unwrap()))
        .collect();
    assert_eq!(with_job_id, ["ServiceAccount topicform"], "the Job's identity reached other objects");
    for (what, _, meta) in pods(&docs) {
        if !what.starts_with("Job ") {
            assert!(meta["labels"]["azure.workload.identity/use"].is_null(), "{what}");
        }
    }
    // The services' broker block has no `management`: a new Job identity does not roll them.
    let other = platform(
        &["helm/platform/values-eventhubs.yaml"],
        &["--set", &format!("broker.management.workloadIdentity.clientId={OVERRIDE_ID}")],
    );
    assert_eq!(sa(&other, "topicform").as_deref(), Some(OVERRIDE_ID));
    assert_eq!(checksums(&docs), checksums(&other), "the Job's identity is in the services' broker checksum");
    // The override wins over broker.management, and works without it.
    let override_id = format!("topicform.azure.workloadIdentity.clientId={OVERRIDE_ID}");
    for extra in [vec![], vec!["--set", "broker.management.workloadIdentity.clientId="]] {
        let mut args = vec!["--set", override_id.as_str()];
        args.extend(extra);
        let docs = platform(&["helm/platform/values-eventhubs.yaml"], &args);
        assert_eq!(sa(&docs, "topicform").as_deref(), Some(OVERRIDE_ID), "{args:?}");
        assert!(!Value::Array(docs).to_string().contains(JOB_ID), "{args:?}: broker.management over the override");
    }
    // OAUTHBEARER on kafka-local (no Event Hubs): the services' identity only; the Job gets none.
    let docs = platform(
        &["helm/platform/ci/kafka-local-values.yaml"],
        &[
            "--set",
            "broker.securityProtocol=SASL_PLAINTEXT,broker.saslMechanism=OAUTHBEARER",
            "--set",
            &format!("broker.workloadIdentity.clientId={SERVICES_ID}"),
        ],
    );
    assert_eq!(sa(&docs, "auth-service").as_deref(), Some(SERVICES_ID));
    assert_eq!(sa(&docs, "topicform"), None, "the Job inherited the services' identity");
    let job = job_labels(&docs);
    assert!(job["azure.workload.identity/use"].is_null(), "{job:#}");
    assert!(!Value::Array(docs.clone()).to_string().contains("99999999"), "unexpected identity");
    // OAUTHBEARER on Event Hubs: each side its own identity.
    let docs = platform(&["helm/platform/ci/eventhubs-oauth-values.yaml"], &[]);
    assert_eq!(sa(&docs, "topicform").as_deref(), Some(JOB_ID));
    assert_eq!(sa(&docs, "auth-service").as_deref(), Some(SERVICES_ID));
    // Event Hubs without the Job's own identity: refused, whatever the services have.
    let spec = spec_arg("topicform.spec");
    let no_job_id = "broker.management.workloadIdentity.clientId=";
    for (args, why) in [
        (vec!["-f", "helm/platform/ci/eventhubs-oauth-values.yaml", "--set", no_job_id], "OAUTHBEARER on Event Hubs"),
        (vec!["-f", "helm/platform/values-eventhubs.yaml", "--set", no_job_id], "PLAIN on Event Hubs"),
        (
            vec![
                "-f",
                "helm/platform/values-eventhubs.yaml",
                "--set",
                no_job_id,
                "--set",
                "topicform.azure.workloadIdentity.clientId=",
            ],
            "PLAIN on Event Hubs, empty override",
        ),
        (
            vec![
                "-f",
                "helm/platform/values-local.yaml",
                "--set",
                "broker.brokers=kafka.example.net:9093,broker.securityProtocol=SASL_SSL,broker.saslMechanism=OAUTHBEARER",
                "--set",
                "broker.workloadIdentity.clientId=11111111-2222-3333-4444-555555555555",
            ],
            "OAUTHBEARER without kafkaLocal",
        ),
        (
            vec!["-f", "helm/platform/values-local.yaml", "--set", "broker.brokers=NS.ServiceBus.Windows.NET:9093"],
            "a .servicebus. host, any case",
        ),
    ] {
        let mut all = vec!["--set-file", spec.as_str()];
        all.extend(args);
        let out = helm_template("platform", &all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success()
                && stderr.contains("set broker.management.workloadIdentity.clientId")
                && stderr.contains("override topicform.azure.workloadIdentity.clientId"),
            "{why}: expected the missing-identity error:\n{stderr}"
        );
    }
    // `broker.management` is typed: a bad client id or an unknown key is a schema error.
    for set in ["broker.management.workloadIdentity.clientId=not-a-uuid", "broker.management.clientId=x"] {
        let out =
            helm_template("platform", &["--set-file", &spec, "-f", "helm/platform/values-local.yaml", "--set", set]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains("values don't meet the specifications of the schema"),
            "{set}: expected a schema error:\n{stderr}"
        );
    }
}

/// In hook mode a chart-made Secret is a hook resource, which `helm uninstall`
/// leaves behind: refused unless explicitly accepted (allowHookSecret).
#[test]
fn a_chart_made_secret_in_hook_mode_needs_an_explicit_opt_in() {
    let spec = spec_arg("spec");
    let password = format!("credentials.values.KAFKA_PASSWORD={DEV_PASSWORD}");
    // topicform chart: hook + credentials.create is refused ...
    let out = helm_template(
        "topicform",
        &["--set-file", &spec, "--set", "environment=local,mode=hook,credentials.create=true", "--set", &password],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("credentials.allowHookSecret"), "{stderr}");
    assert!(!stderr.contains(DEV_PASSWORD), "{stderr}");
    // ... and so is the platform's hook-mode topicform Job with it.
    let out = helm_template(
        "platform",
        &[
            "--set-file",
            &spec_arg("topicform.spec"),
            "-f",
            "helm/platform/values-local.yaml",
            "--set",
            "topicform.credentials.create=true",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("credentials.allowHookSecret"), "{stderr}");
    // Accepted explicitly: the Secret is a hook (as the Job needs it first).
    let docs = render("topicform", &["--set-file", &spec, "-f", "helm/topicform/ci/hook-dev-secret-values.yaml"]);
    let secret = &kind(&docs, "Secret")[0];
    assert_eq!(annotation(secret, "helm.sh/hook"), Some("pre-install,pre-upgrade"));
    // An existing Secret in hook mode, or a chart-made one in job mode (a release resource): fine.
    let docs = render(
        "topicform",
        &[
            "--set-file",
            &spec,
            "--set",
            "environment=local,mode=hook,credentials.create=true,credentials.existingSecret=s",
        ],
    );
    assert!(kind(&docs, "Secret").is_empty());
    let docs = render("topicform", &["--set-file", &spec, "-f", "helm/topicform/ci/job-values.yaml"]);
    let secret = &kind(&docs, "Secret")[0];
    assert!(annotation(secret, "helm.sh/hook").is_none(), "{secret:#}");
    // The platform's brokerSecret: the same rule in hook mode.
    let platform_spec = spec_arg("topicform.spec");
    let dev = ["--set-file", platform_spec.as_str(), "-f", "helm/platform/ci/dev-secret-values.yaml"];
    let out = helm_template("platform", &[&dev[..], &["--set", "brokerSecret.allowHookSecret=false"]].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("brokerSecret.allowHookSecret"), "{stderr}");
    let docs = render("platform", &dev);
    assert_eq!(annotation(named(&docs, "Secret", "kafka-broker"), "helm.sh/hook"), Some("pre-install,pre-upgrade"));
    let docs =
        render("platform", &[&dev[..], &["--set", "topicform.mode=job,brokerSecret.allowHookSecret=false"]].concat());
    assert!(annotation(named(&docs, "Secret", "kafka-broker"), "helm.sh/hook").is_none());
}

// ---- change detection ---------------------------------------------------------

fn checksums(docs: &[Value]) -> Vec<String> {
    kind(docs, "Deployment")
        .iter()
        .map(|d| d["spec"]["template"]["metadata"]["annotations"]["checksum/broker"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn broker_checksum_rolls_the_pods_only_when_the_broker_changes() {
    let base = checksums(&platform(&["helm/platform/values-local.yaml"], &[]));
    assert_eq!(base.len(), 5);
    let moved = checksums(&platform(&["helm/platform/values-local.yaml"], &["--set", "broker.brokers=kafka-2:9092"]));
    let unrelated =
        checksums(&platform(&["helm/platform/values-local.yaml"], &["--set", "serviceDefaults.replicaCount=3"]));
    let eventhubs = checksums(&platform(&["helm/platform/values-eventhubs.yaml"], &[]));
    for i in 0..5 {
        assert_ne!(base[i], moved[i]);
        assert_ne!(base[i], eventhubs[i]);
        assert_eq!(base[i], unrelated[i]);
    }
}

#[test]
fn plain_job_name_changes_with_the_spec() {
    let tmp = tempfile::tempdir().unwrap();
    let job_name = |spec: &str| {
        let file = tmp.path().join("topicform.yaml");
        std::fs::write(&file, spec).unwrap();
        let docs = render(
            "topicform",
            &["--set", "environment=local,mode=job", "--set-file", &format!("spec={}", file.display())],
        );
        kind(&docs, "Job")[0]["metadata"]["name"].as_str().unwrap().to_owned()
    };
    let a = job_name("version: 1\ntopics: { a: {} }\n");
    assert_eq!(a, job_name("version: 1\ntopics: { a: {} }\n"), "same spec, same Job");
    let b = job_name("version: 1\ntopics: { a: {}, b: {} }\n");
    assert_ne!(a, b, "a changed spec must run a new Job");
    // Any change to the Job gives it a new name: an upgrade never patches a Job's immutable template.
    let docs = render(
        "topicform",
        &[
            "--set",
            "environment=local,mode=job",
            "--set",
            "resources.limits.memory=1Gi",
            "--set-file",
            &format!("spec={}", tmp.path().join("topicform.yaml").display()),
        ],
    );
    assert_ne!(kind(&docs, "Job")[0]["metadata"]["name"], json!(b), "resources changed, same Job name");
    assert!(a.starts_with("topicform-apply-") && a.len() <= 63, "{a}");
}

// ---- local vs Event Hubs --------------------------------------------------------

/// Drops what may differ between brokers: KAFKA_* variables, the broker
/// checksum, workload identity, the applied environment.
fn without_broker_fields(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for k in ["checksum/broker", "azure.workload.identity/client-id", "azure.workload.identity/use"] {
                map.remove(k);
            }
            if let Some(Value::Array(env)) = map.get_mut("env") {
                env.retain(|e| !e["name"].as_str().is_some_and(|n| n.starts_with("KAFKA_")));
            }
            if let Some(Value::Array(args)) = map.get_mut("args") {
                if let Some(i) = args.iter().position(|a| a == "-e") {
                    args[i + 1] = json!("<environment>");
                }
            }
            map.retain(|_, v| !matches!(v, Value::Object(m) if m.is_empty()));
            map.values_mut().for_each(without_broker_fields);
            map.retain(|_, v| !matches!(v, Value::Object(m) if m.is_empty()));
        }
        Value::Array(items) => items.iter_mut().for_each(without_broker_fields),
        _ => {}
    }
}

#[test]
fn local_and_eventhubs_differ_only_in_broker_fields() {
    // The files themselves: equal once `broker:` is removed, nothing else.
    let (mut local, mut eventhubs) =
        (values_file("helm/platform/values-local.yaml"), values_file("helm/platform/values-eventhubs.yaml"));
    assert_ne!(local["broker"], eventhubs["broker"]);
    // The topicform Job's own identity lives in the broker block (Event Hubs only).
    assert_eq!(eventhubs["broker"]["management"], management());
    assert!(local["broker"].get("management").is_none(), "values-local.yaml gives the Job an Azure identity");
    local.as_object_mut().unwrap().remove("broker");
    eventhubs.as_object_mut().unwrap().remove("broker");
    assert_eq!(local, eventhubs, "values-local.yaml and values-eventhubs.yaml differ outside `broker:`");
    // Their renders: the same objects once broker fields are dropped.
    let mut a = platform(&["helm/platform/values-local.yaml"], &[]);
    let mut b = platform(&["helm/platform/values-eventhubs.yaml"], &[]);
    assert_eq!(a.len(), b.len());
    let ids = |docs: &[Value]| -> Vec<String> {
        docs.iter()
            .map(|d| format!("{} {} {}", d["kind"], d["metadata"]["name"], d["metadata"]["generateName"]))
            .collect()
    };
    assert_eq!(ids(&a), ids(&b), "not the same objects");
    a.iter_mut().for_each(without_broker_fields);
    b.iter_mut().for_each(without_broker_fields);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "differs outside the broker fields");
    }
}

// ---- preflight ------------------------------------------------------------------

/// Values the schema cannot judge alone fail with a reason, never a half-right render.
#[test]
fn contradictory_values_fail_with_a_reason() {
    let spec = spec_arg("topicform.spec");
    let cases: [(&[&str], &str); 5] = [
        (&["--set", "kafkaLocal.enabled=true"], "kafkaLocal.enabled with topicform.mode=hook cannot work"),
        (&["--set", "broker.brokers=k:9092,broker.securityProtocol=PLAINTEXT"], "set `environment`"),
        (
            &["-f", "helm/platform/values-eventhubs.yaml", "--set", "broker.saslMechanism=OAUTHBEARER"],
            "OAUTHBEARER takes no user name or password",
        ),
        (
            &["-f", "helm/platform/values-eventhubs.yaml", "--set", "broker.existingSecret=null"],
            "needs existingSecret.keys.saslPassword",
        ),
        (
            &[
                "-f",
                "helm/platform/values-local.yaml",
                "--set",
                "services[0].name=a,services[0].image.repository=x,services[1].name=a,services[1].image.repository=y",
            ],
            "service \"a\" is listed twice",
        ),
    ];
    for (args, reason) in cases {
        let mut all = vec!["--set-file", spec.as_str()];
        all.extend_from_slice(args);
        let out = helm_template("platform", &all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(reason), "{args:?}: expected '{reason}':\n{stderr}");
    }
}

/// The Role holds exactly what topicform uses of the Kubernetes API (the
/// Lease, the status ConfigMap, Events), then `rbac.rules`; the pod mounts
/// the token only for that. `kubernetes.enabled: false` takes both away.
#[test]
fn the_role_grants_exactly_what_topicform_uses() {
    let own = json!([
        { "apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"] },
        { "apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "patch"] },
        { "apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create"] },
    ]);
    let job_mode = ["--set-file", &spec_arg("spec"), "-f", "helm/topicform/ci/job-values.yaml"];
    let docs = render("topicform", &job_mode);
    assert_eq!(kind(&docs, "Role")[0]["rules"], own);
    assert_eq!(kind(&docs, "Job")[0]["spec"]["template"]["spec"]["automountServiceAccountToken"], "true");

    // hook-values.yaml adds a rule of its own after them.
    let docs = render("topicform", &["--set-file", &spec_arg("spec"), "-f", "helm/topicform/ci/hook-values.yaml"]);
    let rules = kind(&docs, "Role")[0]["rules"].as_array().unwrap().clone();
    assert_eq!(json!(rules[..3]), own);
    assert_eq!(rules[3], json!({ "apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"] }));

    let docs = render("topicform", &[&job_mode[..], &["--set", "kubernetes.enabled=false"]].concat());
    assert!(kind(&docs, "Role").is_empty() && kind(&docs, "RoleBinding").is_empty());
    assert_eq!(kind(&docs, "Job")[0]["spec"]["template"]["spec"]["automountServiceAccountToken"], "false");
}

// ---- contributed topics -------------------------------------------------------

/// The service chart's `topics:` becomes the labelled ConfigMap a spec with
/// `from: kubernetes` reads; topicform parses it as the values wrote it.
#[test]
fn service_topics_render_a_configmap_topicform_reads() {
    let docs = render("service", &["-f", "helm/service/ci/topics-values.yaml"]);
    let cm = named(&docs, "ConfigMap", "service-topics");
    assert_eq!(cm["metadata"]["labels"]["topicform.dev/topics"], "true");
    let text = cm["data"]["topics.yaml"].as_str().unwrap();
    let parsed = topicform_core::spec::parse_contribution("ConfigMap etelios/service-topics", "", "topics.yaml", text)
        .unwrap_or_else(|e| panic!("{:?}\n{text}", e.problem));
    let placed = &parsed.contribution.topics["orders.placed"];
    assert_eq!(placed.partitions, Some(6));
    // A large number stays a number through Helm's toYaml.
    assert_eq!(placed.config["retention.ms"].0, "604800000");
    assert_eq!(placed.consumers, ["billing-service"]);
    assert_eq!(parsed.contribution.topics["orders.audit"].config["retention.ms"].0, "30d");

    // No topics, no ConfigMap.
    let docs = render("service", &["-f", "helm/service/ci/local-values.yaml"]);
    assert!(kind(&docs, "ConfigMap").is_empty());
}

/// The chart's schema for `topics:` has exactly the keys of the spec's
/// topics, so a key added to the spec cannot be missing from the chart.
#[test]
fn the_chart_topics_schema_has_the_spec_topic_keys() {
    let spec_schema = topicform_core::spec_schema();
    let topic = &spec_schema["$defs"]["Topic"]["properties"];
    let chart: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("helm/service/values.schema.json")).unwrap())
            .unwrap();
    let chart_topic = &chart["properties"]["topics"]["additionalProperties"]["properties"];
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    // All but `waivers`: a service's release cannot waive the platform's
    // policy (topicform refuses a contributed waiver); the chart refuses it first.
    let spec_keys: Vec<String> = keys(topic).into_iter().filter(|k| k != "waivers").collect();
    assert_eq!(keys(chart_topic), spec_keys);
    assert!(keys(topic).contains(&"waivers".to_owned()));
}

/// Reading contributed topics adds `list` on ConfigMaps here, and a Role
/// in each further namespace with that and Events.
#[test]
fn contributed_topics_grant_list_where_they_are_read() {
    let args = [
        "--set-file",
        &spec_arg("spec"),
        "-f",
        "helm/topicform/ci/job-values.yaml",
        "--set",
        "kubernetes.contributedTopics.enabled=true",
        "--set",
        "kubernetes.contributedTopics.namespaces={shop,etelios}",
    ];
    let docs = render("topicform", &args);
    let roles = kind(&docs, "Role");
    assert_eq!(roles.len(), 2, "own namespace, and shop (etelios is the release's)");
    assert_eq!(
        roles[0]["rules"][1],
        json!({ "apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "create", "patch"] })
    );
    let shop = roles.iter().find(|r| r["metadata"]["namespace"] == "shop").unwrap();
    assert_eq!(
        shop["rules"],
        json!([
            { "apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"] },
            { "apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create"] },
        ])
    );
    let binding = kind(&docs, "RoleBinding").into_iter().find(|b| b["metadata"]["namespace"] == "shop").unwrap();
    assert_eq!(binding["subjects"][0]["namespace"], "etelios");
    assert_eq!(binding["roleRef"]["name"], shop["metadata"]["name"]);
}

/// `mode: controller`: a Deployment of `topicform controller` with probes
/// instead of the apply Job, and list + watch on the ConfigMaps it watches.
#[test]
fn controller_mode_runs_a_probed_deployment_and_no_apply_job() {
    let docs =
        render("topicform", &["--set-file", &spec_arg("spec"), "-f", "helm/topicform/ci/controller-values.yaml"]);
    assert!(kind(&docs, "Job").is_empty(), "no apply Job beside the controller");
    let deployment = kind(&docs, "Deployment")[0];
    assert_eq!(deployment["spec"]["replicas"], "2");
    assert_eq!(deployment["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"], "controller");
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Always");
    assert_eq!(pod["automountServiceAccountToken"], "true");
    let container = &pod["containers"][0];
    let args: Vec<&str> = container["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(
        args,
        [
            "controller",
            "-f",
            "/etc/topicform/topicform.yaml",
            "-e",
            "local",
            "--interval",
            "120",
            "--probe-address",
            "0.0.0.0:8081",
            "--timeout",
            "30",
            "--log-format",
            "json",
            "--log-level",
            "info",
            "--prune-config"
        ]
    );
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["ports"][0]["containerPort"], "8081");
    let roles = kind(&docs, "Role");
    assert_eq!(roles[0]["rules"][1]["verbs"], json!(["get", "list", "watch", "create", "patch"]));
    let shop = roles.iter().find(|r| r["metadata"]["namespace"] == "shop").unwrap();
    assert_eq!(shop["rules"][0]["verbs"], json!(["list", "watch"]));
}

fn env_of(container: &Value) -> BTreeMap<String, Value> {
    container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (e["name"].as_str().unwrap().to_owned(), e.get("value").cloned().unwrap_or_else(|| e["valueFrom"].clone()))
        })
        .collect()
}

#[test]
fn the_lag_exporter_serves_metrics_for_a_service_monitor_and_every_pod_exports_otel() {
    let docs =
        render("topicform", &["--set-file", &spec_arg("spec"), "-f", "helm/topicform/ci/lag-exporter-values.yaml"]);
    let exporter = named(&docs, "Deployment", "topicform-lag-exporter");
    assert_eq!(exporter["spec"]["replicas"], "1", "two would double every series");
    let pod = &exporter["spec"]["template"];
    assert_eq!(pod["metadata"]["labels"]["app.kubernetes.io/component"], "lag-exporter");
    assert_eq!(pod["spec"]["restartPolicy"], "Always");
    let container = &pod["spec"]["containers"][0];
    let args: Vec<&str> = container["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(
        args,
        [
            "lag",
            "-f",
            "/etc/topicform/topicform.yaml",
            "-e",
            "local",
            "--serve",
            "0.0.0.0:9308",
            "--interval",
            "15",
            "--log-format",
            "json",
            "--log-level",
            "info",
            "--group",
            "billing"
        ]
    );
    assert_eq!(container["ports"][0], json!({"name": "metrics", "containerPort": "9308"}));
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/healthz");
    // The Service a ServiceMonitor selects: by label, port `metrics`; it
    // selects the exporter's pods only, never a Job's.
    let service = named(&docs, "Service", "topicform-lag-exporter");
    assert_eq!(service["metadata"]["labels"]["release"], "prometheus");
    assert_eq!(service["spec"]["ports"][0]["name"], "metrics");
    assert_eq!(service["spec"]["selector"]["app.kubernetes.io/component"], "lag-exporter");
    let job = kind(&docs, "Job")[0];
    assert!(job["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component").is_none());

    // OTEL_* on every topicform pod (the Job and the exporter), nothing else.
    for container in [&job["spec"]["template"]["spec"]["containers"][0], container] {
        let env = env_of(container);
        assert_eq!(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://otel-collector.monitoring:4318");
        assert_eq!(env["OTEL_SERVICE_NAME"], "topicform-local");
        assert_eq!(
            env["OTEL_RESOURCE_ATTRIBUTES"],
            "k8s.namespace.name=etelios,k8s.pod.name=$(OTEL_K8S_POD_NAME),deployment.environment.name=local"
        );
        assert_eq!(env["OTEL_K8S_POD_NAME"]["fieldRef"]["fieldPath"], "metadata.name");
        assert_eq!(env["OTEL_EXPORTER_OTLP_HEADERS"]["secretKeyRef"]["name"], "otel-auth");
        // Kubernetes expands $(VAR) only from variables defined before it.
        let order: Vec<&str> =
            container["env"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
        let at = |name: &str| order.iter().position(|n| *n == name);
        assert!(at("OTEL_K8S_POD_NAME") < at("OTEL_RESOURCE_ATTRIBUTES"), "{order:?}");
    }
    // Without an endpoint: no OTEL_* at all (telemetry off, zero cost).
    let off = render("topicform", &["--set-file", &spec_arg("spec"), "-f", "helm/topicform/ci/job-values.yaml"]);
    let env = env_of(&kind(&off, "Job")[0]["spec"]["template"]["spec"]["containers"][0]);
    assert!(env.keys().all(|k| !k.starts_with("OTEL_")), "{env:?}");
}

#[test]
fn the_platform_points_topicform_and_every_service_at_one_collector() {
    // What the example values files show, commented out.
    let docs = platform(
        &["helm/platform/values-eventhubs.yaml"],
        &[
            "--set",
            "otel.endpoint=http://otel-collector.monitoring:4318",
            "--set",
            r"otel.resourceAttributes.deployment\.environment\.name=prod",
            "--set",
            "topicform.otel.serviceName=topicform-prod",
            "--set",
            "topicform.lagExporter.enabled=true",
        ],
    );
    let mut names = Vec::new();
    for (name, pod, _) in pods(&docs) {
        let env = env_of(&pod["containers"][0]);
        assert_eq!(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://otel-collector.monitoring:4318", "{name}");
        assert!(env["OTEL_RESOURCE_ATTRIBUTES"].as_str().unwrap().ends_with(",deployment.environment.name=prod"));
        names.push(env["OTEL_SERVICE_NAME"].as_str().unwrap().to_owned());
    }
    // Each service under its own name; topicform's override wins for its pods only.
    for expected in ["auth-service", "inventory-service", "topicform-prod"] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing: {names:?}");
    }
    assert!(
        kind(&docs, "Service").iter().any(|s| s["spec"]["ports"][0]["name"] == "metrics"),
        "the lag exporter's Service"
    );
}

#[test]
fn the_example_service_monitor_selects_the_lag_exporters_service() {
    let monitor: Value = {
        let text = std::fs::read_to_string(repo().join("examples/monitoring/servicemonitor.yaml")).unwrap();
        parse_docs(&text).remove(0)
    };
    let docs = platform(
        &["helm/platform/values-local.yaml"],
        &[
            "--set",
            "topicform.lagExporter.enabled=true",
            "--set",
            "topicform.lagExporter.serviceLabels.release=prometheus",
        ],
    );
    let selected: Vec<&Value> = kind(&docs, "Service")
        .into_iter()
        .filter(|s| {
            monitor["spec"]["selector"]["matchLabels"]
                .as_object()
                .unwrap()
                .iter()
                .all(|(k, v)| &s["metadata"]["labels"][k] == v)
        })
        .collect();
    assert_eq!(selected.len(), 1, "exactly the lag exporter's Service: {selected:#?}");
    let port = monitor["spec"]["endpoints"][0]["port"].as_str().unwrap();
    assert_eq!(selected[0]["spec"]["ports"][0]["name"], port);
}

/// `topicform env --service NAME` through the service chart: the service's
/// own SCRAM user (its principal's name, never topicform's), its password
/// from a Secret, and its group, exactly as `topicform env` prints them.
#[test]
fn a_services_own_env_through_the_service_chart_equals_topicform_env_service() {
    let example = repo().join("examples/etelios/topicform.yaml");
    let env = |format: &str| {
        let out = topicform()
            .args(["env", "-e", "staging", "--service", "auth-service", "--format", format, "-f"])
            .arg(&example)
            .env("KAFKA_USERNAME", "topicform-admin")
            .env("KAFKA_PASSWORD", "not-the-services")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let expected: Value = serde_json::from_str(&env("json")).unwrap();
    assert_eq!(expected["KAFKA_SASL_USERNAME"], "auth-service", "{expected:#}");
    assert_eq!(expected["KAFKA_GROUP_ID"], "auth-service", "{expected:#}");
    assert_eq!(expected["KAFKA_SASL_PASSWORD"], json!({ "secretRef": { "env": "AUTH_SERVICE_KAFKA_PASSWORD" } }));

    let broker = marked_yaml::from_yaml::<Value>(0, &env("helm-values")).unwrap()["broker"].clone();
    let tmp = tempfile::tempdir().unwrap();
    let values = write_temp(&tmp, "broker.json", &json!({ "broker": broker }));
    let docs = render("service", &["-f", "helm/service/ci/local-values.yaml", "-f", &values]);
    let deployment = &kind(&docs, "Deployment")[0]["spec"]["template"]["spec"];
    let rendered = kafka_env(deployment);
    let names: Vec<&str> = rendered.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, expected.as_object().unwrap().keys().map(String::as_str).collect::<Vec<_>>());
    for (name, value) in &rendered {
        match name.as_str() {
            "KAFKA_SASL_PASSWORD" => assert_eq!(value["secretKeyRef"]["key"], "KAFKA_SASL_PASSWORD", "{value}"),
            _ => assert_eq!(value, &expected[name.as_str()], "{name}"),
        }
    }
}

/// The platform on a SASL cluster with one service on its own user: that
/// service's pods get exactly `topicform env --service` (its user, its
/// password's Secret, its group), the others the shared credentials, and
/// the topicform Job never the service's.
#[test]
fn a_platform_service_with_its_own_identity_gets_env_service_and_no_one_else_does() {
    let example = repo().join("examples/etelios/topicform.yaml");
    let env = |extra: &[&str], format: &str| {
        let out = topicform()
            .args(["env", "-e", "staging", "--format", format, "-f"])
            .arg(&example)
            .args(extra)
            .env("KAFKA_USERNAME", "topicform-admin")
            .env("KAFKA_PASSWORD", "unused")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let shared: Value = marked_yaml::from_yaml::<Value>(0, &env(&[], "helm-values")).unwrap()["broker"].clone();
    let own_text = env(&["--service", "auth-service", "--secret-name", "auth-service-kafka"], "helm-values");
    let mut own = marked_yaml::from_yaml::<Value>(0, &own_text).unwrap()["broker"].clone();
    for key in ["brokers", "securityProtocol", "saslMechanism"] {
        assert_eq!(own[key], shared[key], "{key} is the shared broker's");
        own.as_object_mut().unwrap().remove(key);
    }
    let mut shared = shared;
    shared["environment"] = json!("staging");
    let values = json!({
        "broker": shared,
        "services": [
            { "name": "auth-service", "image": { "repository": "ghcr.io/etelios/auth-service", "tag": "1.0.0" }, "broker": own },
            { "name": "hr-service", "image": { "repository": "ghcr.io/etelios/hr-service", "tag": "1.0.0" } },
        ],
    });
    let tmp = tempfile::tempdir().unwrap();
    let file = write_temp(&tmp, "values.json", &values);
    let docs = platform(&[&file], &[]);

    let expected: Value = serde_json::from_str(&env(&["--service", "auth-service"], "json")).unwrap();
    let auth = kafka_env(&named(&docs, "Deployment", "auth-service")["spec"]["template"]["spec"]);
    let names: Vec<&str> = auth.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, expected.as_object().unwrap().keys().map(String::as_str).collect::<Vec<_>>());
    let get = |env: &[(String, Value)], name: &str| env.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(get(&auth, "KAFKA_SASL_USERNAME"), Some(json!("auth-service")));
    assert_eq!(get(&auth, "KAFKA_GROUP_ID"), Some(json!("auth-service")));
    assert_eq!(get(&auth, "KAFKA_SASL_PASSWORD").unwrap()["secretKeyRef"]["name"], "auth-service-kafka");

    let hr = kafka_env(&named(&docs, "Deployment", "hr-service")["spec"]["template"]["spec"]);
    assert_eq!(get(&hr, "KAFKA_SASL_USERNAME").unwrap()["secretKeyRef"]["name"], "kafka-broker");
    assert_eq!(get(&hr, "KAFKA_GROUP_ID"), None);
    for (what, pod, _) in pods(&docs).into_iter().filter(|(w, _, _)| !w.contains("auth-service")) {
        let rendered = serde_json::to_string(pod).unwrap();
        assert!(!rendered.contains("auth-service-kafka"), "{what} got the auth service's Secret");
    }
}

// ---- Kafka client settings (env --client) -------------------------------------

fn topicform_client(profile: &str, library: &str, helm_values: bool) -> String {
    let mut args = vec!["env", "-f", SPEC, "-e", profile, "--client", library];
    if helm_values {
        args.extend(["--format", "helm-values"]);
    }
    let out = topicform().args(&args).env("TEST_EVENTHUBS_CONNECTION_STRING", CONNECTION_STRING).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `env --client LIB --format helm-values` given to the service chart: the
/// pods read exactly the file `env --client LIB` prints, at the path
/// KAFKA_CLIENT_CONFIG names, and a change of it rolls them.
#[test]
fn service_chart_mounts_the_client_settings_topicform_prints() {
    let dir = tempfile::tempdir().unwrap();
    for library in ["kafkajs", "librdkafka", "java", "confluent-kafka-go"] {
        let values = dir.path().join(format!("{library}.yaml"));
        std::fs::write(&values, topicform_client("eventhubs-plain", library, true)).unwrap();
        let docs =
            render("service", &["-f", "helm/service/ci/eventhubs-plain-values.yaml", "-f", values.to_str().unwrap()]);
        let file = topicform_core::spec::client_settings::Library::file_name(match library {
            "kafkajs" => topicform_core::spec::client_settings::Library::Kafkajs,
            "java" => topicform_core::spec::client_settings::Library::Java,
            _ => topicform_core::spec::client_settings::Library::Librdkafka,
        });
        let cm = named(&docs, "ConfigMap", "hr-service-kafka-client");
        assert_eq!(cm["data"][file], topicform_client("eventhubs-plain", library, false), "{library}");
        let deployment = named(&docs, "Deployment", "hr-service");
        let pod = &deployment["spec"]["template"]["spec"];
        let env = pod["containers"][0]["env"].as_array().unwrap();
        let config = env.iter().find(|e| e["name"] == "KAFKA_CLIENT_CONFIG").expect("KAFKA_CLIENT_CONFIG");
        assert_eq!(config["value"], format!("/etc/kafka-client/{file}"));
        let mount =
            pod["containers"][0]["volumeMounts"].as_array().unwrap().iter().find(|m| m["name"] == "kafka-client");
        assert_eq!(mount.unwrap()["mountPath"], "/etc/kafka-client");
        assert_eq!(mount.unwrap()["readOnly"], "true");
        let volume = pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == "kafka-client").unwrap();
        assert_eq!(volume["configMap"]["name"], "hr-service-kafka-client");
        assert!(annotation(&deployment["spec"]["template"], "checksum/kafka-client").is_some());
    }
    // Without the block: no ConfigMap, no variable, no volume.
    let docs = render("service", &["-f", "helm/service/ci/eventhubs-plain-values.yaml"]);
    assert!(kind(&docs, "ConfigMap").iter().all(|c| c["metadata"]["name"] != "hr-service-kafka-client"));
    let deployment = named(&docs, "Deployment", "hr-service");
    assert!(
        !deployment.to_string().contains("KAFKA_CLIENT_CONFIG") && !deployment.to_string().contains("kafka-client")
    );
    // Content without a file name is refused with the fix.
    let out = helm_template("service", &["-f", "helm/service/ci/local-values.yaml", "--set", "clientConfig.content=x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("clientConfig.content needs clientConfig.file"));
}
