//! Policy through the CLI: `validate` reports violations at file:line:col
//! (errors fail, warnings do not), `-o sarif` writes SARIF 2.1.0 that the
//! published schema accepts (tests/testdata/sarif/, with its source), a
//! shared `--policy` file applies with the spec's own, and against the
//! real broker a violation stops plan and apply before anything changes
//! while a waived one does not.

mod support;

use predicates::prelude::*;
use serde_json::Value;
use support::{kafka_spec, topicform, Workspace};

/// The OASIS SARIF 2.1.0 schema (JSON Schema draft-04), as published.
fn sarif_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(support::repo().join("tests/testdata/sarif/sarif-schema-2.1.0.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-04/schema#");
    jsonschema::draft4::new(&schema).expect("the SARIF schema compiles")
}

fn schema_problems(log: &Value) -> Vec<String> {
    sarif_schema().iter_errors(log).map(|e| format!("{e} at {}", e.instance_path())).collect()
}

const POLICY: &str = r#"policy:
  topicName: { pattern: '[a-z]+\.[a-z]+(\.[a-z]+)*' }
  partitions: { min: 3, max: 24 }
  configKeys: { forbidden: [unclean.leader.election.enable] }
  description: { severity: warning }
"#;

/// A spec for an unreachable broker: nothing here may need one.
fn spec_with(topics: &str) -> String {
    format!("{POLICY}{}", kafka_spec("localhost:1", "", topics))
}

#[test]
fn validate_reports_each_violation_where_it_is_and_fails_on_errors() {
    let ws = Workspace::new();
    let spec = ws.spec(&spec_with(
        "  orders_placed: { partitions: 3, description: d }\n  user.events:\n    partitions: 1\n    config: { unclean.leader.election.enable: \"true\" }\n",
    ));
    topicform()
        .args(["validate", "-f"])
        .arg(&spec)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("3 error(s) in the spec"))
        .stderr(predicate::str::contains("topicform.yaml:16:3"))
        .stderr(predicate::str::contains("topic `orders_placed` does not match the naming pattern"))
        .stderr(predicate::str::contains("topicform.yaml:18:17"))
        .stderr(predicate::str::contains(
            "topic `user.events` has 1 partition(s) in environment `test`, below the policy's minimum of 3",
        ))
        .stderr(predicate::str::contains("topicform.yaml:19:47"))
        .stderr(predicate::str::contains("the policy forbids it"))
        .stderr(predicate::str::contains("topic `user.events` has no description"));
}

#[test]
fn warnings_and_waivers_do_not_fail_and_stay_visible() {
    let ws = Workspace::new();
    let spec = ws.spec(&spec_with(
        "  user.events:\n    partitions: 1\n    waivers: [{ rule: partitions, reason: \"Strict order per user; PLAT-42\" }]\n",
    ));
    topicform()
        .args(["validate", "-f"])
        .arg(&spec)
        .assert()
        .success()
        .stderr(predicate::str::contains("valid (1 topics; environments: test; 2 warning(s))"))
        .stderr(predicate::str::contains("waived: topic `user.events` has 1 partition(s)"))
        .stderr(predicate::str::contains("by `topics.user.events.waivers[0]`: Strict order per user; PLAT-42"))
        .stderr(predicate::str::contains("topic `user.events` has no description"));
}

#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() {
    let ws = Workspace::new();
    let spec = ws.spec(&spec_with(
        "  orders_placed: { partitions: 3, description: d }\n  user.events:\n    partitions: 1\n    waivers: [{ rule: partitions, reason: PLAT-42 }]\n",
    ));
    let out = topicform().args(["validate", "-o", "sarif", "-f"]).arg(&spec).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "an error fails whatever the format");
    let log: Value = serde_json::from_slice(&out.stdout).expect("SARIF on stdout");
    assert_eq!(schema_problems(&log), Vec::<String>::new(), "{log:#}");
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    let rules: Vec<&str> =
        run["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        rules,
        [
            "spec",
            "topicName",
            "partitions",
            "replicationFactor",
            "minInsyncReplicas",
            "configKeys",
            "retention",
            "description",
            "consumers"
        ]
    );
    let results = run["results"].as_array().unwrap();
    let by_rule = |id: &str| results.iter().filter(|r| r["ruleId"] == id).collect::<Vec<_>>();
    let [name] = by_rule("topicName")[..] else { panic!("{results:#?}") };
    assert_eq!(name["level"], "error");
    assert_eq!(name["ruleIndex"], 1);
    let location = &name["locations"][0]["physicalLocation"];
    assert!(location["artifactLocation"]["uri"].as_str().unwrap().ends_with("/topicform.yaml"), "{location}");
    assert_eq!(location["region"], serde_json::json!({ "startLine": 16, "startColumn": 3, "endColumn": 16 }));
    // The waived violation: a note (GitHub does not read suppressions on
    // upload), suppressed in source with the reason.
    let [waived] = by_rule("partitions")[..] else { panic!("{results:#?}") };
    assert_eq!(waived["level"], "note");
    assert_eq!(
        waived["suppressions"],
        serde_json::json!([{ "kind": "inSource", "status": "accepted", "justification": "PLAT-42" }])
    );
    assert_eq!(by_rule("description").len(), 1);
    assert_eq!(by_rule("description")[0]["level"], "warning");
    assert!(by_rule("description")[0].get("suppressions").is_none());
}

#[test]
fn sarif_of_a_valid_spec_has_no_results_and_a_relative_uri() {
    let ws = Workspace::new();
    ws.spec(&spec_with("  user.events: { partitions: 3, description: d, config: { retention.ms: nonsense } }\n"));
    let out = topicform()
        .args(["validate", "-o", "sarif", "-f", "topicform.yaml"])
        .current_dir(ws.dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema_problems(&log), Vec::<String>::new());
    let results = log["runs"][0]["results"].as_array().unwrap();
    // Not a policy rule's: the spec rule, pointing at the value.
    assert_eq!(results.len(), 1, "{results:#?}");
    assert_eq!(results[0]["ruleId"], "spec");
    assert_eq!(results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "topicform.yaml");

    ws.spec(&spec_with("  user.events: { partitions: 3, description: d }\n"));
    let out = topicform()
        .args(["validate", "-o", "sarif", "-f", "topicform.yaml"])
        .current_dir(ws.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema_problems(&log), Vec::<String>::new());
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
}

/// The SARIF log `validate -o sarif` printed, checked against the schema,
/// and its results.
fn sarif_results(stdout: &[u8]) -> Vec<Value> {
    let log: Value = serde_json::from_slice(stdout).expect("stdout is one JSON document");
    assert_eq!(schema_problems(&log), Vec::<String>::new());
    log["runs"][0]["results"].as_array().unwrap().clone()
}

fn region(result: &Value) -> (&Value, &Value, &Value) {
    let location = &result["locations"][0]["physicalLocation"];
    (&location["artifactLocation"]["uri"], &location["region"]["startLine"], &location["region"]["startColumn"])
}

#[test]
fn sarif_reports_a_spec_or_policy_file_that_does_not_load_where_it_broke() {
    // CI uploads whatever `validate -o sarif` printed: when the spec does
    // not even parse, that must still be the error at its line, not an
    // empty file the upload step chokes on.
    let ws = Workspace::new();
    ws.spec(&kafka_spec("localhost:1", "", "  user.events: { partitions: 3, retenton: 7d }\n"));
    let validate = |extra: &[&str]| {
        topicform()
            .args(["validate", "-o", "sarif", "-f", "topicform.yaml"])
            .args(extra)
            .current_dir(ws.dir.path())
            .output()
            .unwrap()
    };
    let out = validate(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("retenton"), "the error stays on stderr too");
    let results = sarif_results(&out.stdout);
    assert_eq!(results.len(), 1, "{results:#?}");
    assert_eq!(results[0]["ruleId"], "spec");
    assert_eq!(results[0]["level"], "error");
    assert!(results[0]["message"]["text"].as_str().unwrap().contains("retenton"));
    // Line 11, column 33: `retenton` in `  user.events: { partitions: 3, retenton: 7d }`.
    assert_eq!(region(&results[0]), (&"topicform.yaml".into(), &11.into(), &33.into()));

    // A shared policy file with a rule that cannot work: results in that file.
    ws.spec(&kafka_spec("localhost:1", "", "  user.events: { partitions: 3 }\n"));
    ws.file("policy.yaml", "partitions: { min: 6, max: 2 }\ntopicName: { pattern: '(' }\n");
    let out = validate(&["--policy", "policy.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let results = sarif_results(&out.stdout);
    assert_eq!(results.len(), 2, "{results:#?}");
    assert_eq!(region(&results[0]), (&"policy.yaml".into(), &1.into(), &20.into()));
    assert_eq!(region(&results[1]), (&"policy.yaml".into(), &2.into(), &23.into()));

    // A file that cannot be read has no place to point at: an error, no log.
    let out = validate(&["--policy", "missing.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read policy file missing.yaml"));
}

#[test]
fn the_schema_check_catches_a_broken_log() {
    // The test above would pass on anything the schema ignores; make sure
    // it checks: a result without a message, a level SARIF does not have.
    let broken = serde_json::json!({
        "version": "2.1.0",
        "runs": [{ "tool": { "driver": { "name": "topicform" } }, "results": [{ "ruleId": "x", "level": "fatal" }] }]
    });
    assert_eq!(schema_problems(&broken).len(), 2, "{:?}", schema_problems(&broken));
}

#[test]
fn a_shared_policy_file_applies_and_its_own_mistakes_are_located() {
    let ws = Workspace::new();
    let spec = ws.spec(&kafka_spec("localhost:1", "", "  user.events: { partitions: 2 }\n"));
    let shared = ws.file("platform-policy.yaml", "# The platform team's rules.\npartitions: { min: 6 }\n");
    topicform().args(["validate", "-f"]).arg(&spec).assert().success();
    topicform()
        .args(["validate", "-f"])
        .arg(&spec)
        .arg("--policy")
        .arg(&shared)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("below the policy's minimum of 6"));
    // TOPICFORM_POLICY is what a CI job sets once.
    topicform()
        .args(["validate", "-f"])
        .arg(&spec)
        .env("TOPICFORM_POLICY", &shared)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("below the policy's minimum of 6"));
    let broken = ws.file("broken.yaml", "partitions: { min: 6, max: 2 }\ntopicName: { pattern: '(' }\n");
    topicform()
        .args(["validate", "-f"])
        .arg(&spec)
        .arg("--policy")
        .arg(&broken)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("broken.yaml: 2 error(s)"))
        .stderr(predicate::str::contains("broken.yaml:1:20"))
        .stderr(predicate::str::contains("broken.yaml:2:23"));
    let typo = ws.file("typo.yaml", "partitons: { min: 6 }\n");
    topicform()
        .args(["validate", "-f"])
        .arg(&spec)
        .arg("--policy")
        .arg(&typo)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("typo.yaml:1:1"))
        .stderr(predicate::str::contains("partitons"));
    topicform()
        .args(["validate", "-f"])
        .arg(&spec)
        .args(["--policy", "/nonexistent/policy.yaml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot read policy file /nonexistent/policy.yaml"));
}

#[test]
fn a_violation_stops_plan_and_apply_before_the_broker_and_a_waiver_lets_them_through() {
    let prefix = support::unique_prefix("policy");
    let ws = Workspace::new();
    let topic = format!("{prefix}events");
    let policy = "policy:\n  partitions: { min: 2 }\n";
    let spec = ws.spec(&format!("{policy}{}", kafka_spec(support::broker(), "", &format!("  {topic}: {{}}\n"))));
    for command in [&["plan"][..], &["apply", "--auto-approve"]] {
        topicform()
            .args(command)
            .args(["-e", "test", "-f"])
            .arg(&spec)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(
                "the default at `defaults.partitions` gives 1 partition(s) in environment `test`, below the policy's minimum of 2",
            ));
    }
    // The read-only commands are not held up: `env` still prints.
    topicform().args(["env", "-e", "test", "-f"]).arg(&spec).assert().success();
    let plan = support::plan_json(
        &ws.spec(&format!(
            "{policy}{}",
            kafka_spec(support::broker(), "", &format!("  {prefix}other: {{ partitions: 2 }}\n"))
        )),
        &[],
    );
    assert!(support::topic_plan(&plan, &format!("{prefix}other"))["action"] == "create");
    // The refused plan and apply created nothing: the topic is not on the
    // broker (another spec sees no such unmanaged topic).
    assert!(
        !plan["unmanaged"].as_array().unwrap().contains(&Value::from(topic.as_str())),
        "the refused apply created {topic}: {plan:#}"
    );

    // Waived on the topic itself (its own value, not the default's).
    let waived = ws.spec(&format!(
        "{policy}{}",
        kafka_spec(
            support::broker(),
            "",
            &format!("  {topic}:\n    partitions: 1\n    waivers: [{{ rule: partitions, reason: \"single consumer, agreed in PLAT-7\" }}]\n")
        )
    ));
    let out = topicform().args(["apply", "-e", "test", "--auto-approve", "-f"]).arg(&waived).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("waived: topic"), "the waiver is reported on apply too: {stderr}");
    let plan = support::plan_json(&waived, &[]);
    assert_eq!(support::topic_plan(&plan, &topic)["action"], "unchanged", "{plan:#}");
    // The plan carries the waiver for whoever reads it (a saved plan, a PR).
    assert_eq!(
        plan["warnings"],
        serde_json::json!([{
            "at": format!("{}:14:17", waived.display()),
            "rule": "partitions",
            "message": format!("waived: topic `{topic}` has 1 partition(s) in environment `test`, below the policy's minimum of 2"),
            "waived": "single consumer, agreed in PLAT-7",
        }]),
        "{plan:#}"
    );
}

#[test]
fn the_pull_request_plan_shows_policy_warnings_and_waivers_where_the_reviewer_reads() {
    let prefix = support::unique_prefix("policy-md");
    let ws = Workspace::new();
    let policy = "policy:\n  partitions: { min: 2 }\n  description: { severity: warning }\n";
    let topics = format!(
        "  {prefix}audit:\n    partitions: 1\n    description: audit trail\n    waivers: [{{ rule: partitions, reason: \"strict order, PLAT-9 </details> & <b>\" }}]\n  {prefix}clicks: {{ partitions: 2 }}\n"
    );
    ws.spec(&format!("{policy}{}", kafka_spec(support::broker(), "", &topics)));
    let out = topicform()
        .args(["plan", "-e", "test", "-o", "markdown", "-f", "topicform.yaml"])
        .current_dir(ws.dir.path())
        .output()
        .unwrap();
    let markdown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(markdown.contains("**Spec warnings (1):**"), "{markdown}");
    assert!(
        markdown.contains(&format!(
            "- ⚠️ `topicform.yaml:18:3` (`description`): topic `{prefix}clicks` has no description"
        )),
        "{markdown}"
    );
    assert!(markdown.contains("<summary>Waived policy violations (1)</summary>"), "{markdown}");
    assert!(
        markdown.contains(&format!(
            "- `topicform.yaml:15:17` (`partitions`): waived: topic `{prefix}audit` has 1 partition(s) in environment `test`, below the policy's minimum of 2 — reason: strict order, PLAT-9 &lt;/details> &amp; &lt;b>"
        )),
        "{markdown}"
    );
    // A plan of a spec with nothing to warn about has no such sections.
    ws.spec(&kafka_spec(support::broker(), "", &format!("  {prefix}clicks: {{ partitions: 2 }}\n")));
    let out = topicform()
        .args(["plan", "-e", "test", "-o", "markdown", "-f", "topicform.yaml"])
        .current_dir(ws.dir.path())
        .output()
        .unwrap();
    let markdown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && !markdown.contains("warnings") && !markdown.contains("Waived"), "{markdown}");
}

#[test]
fn the_example_platform_passes_its_shared_policy_with_one_waiver_as_ci_runs_it() {
    // deploy/ci/github-actions.yml sets TOPICFORM_POLICY and runs this line.
    let workflow = std::fs::read_to_string(support::repo().join("deploy/ci/github-actions.yml")).unwrap();
    assert!(workflow.contains("TOPICFORM_POLICY: examples/etelios/policy.yaml"));
    assert!(workflow.contains(r#"topicform validate --all -f "$TOPICFORM_SPEC" -o sarif > topicform.sarif"#));
    assert!(workflow.contains("uses: github/codeql-action/upload-sarif@v3"));
    let out = topicform()
        .args(["validate", "--all", "-f", "examples/etelios/topicform.yaml", "-o", "sarif"])
        .env("TOPICFORM_POLICY", "examples/etelios/policy.yaml")
        .current_dir(support::repo())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema_problems(&log), Vec::<String>::new());
    let policy: Vec<&Value> =
        log["runs"][0]["results"].as_array().unwrap().iter().filter(|r| r["ruleId"] != "spec").collect();
    let [waived] = policy[..] else { panic!("{policy:#?}") };
    assert_eq!(waived["ruleId"], "retention");
    assert!(waived["message"]["text"]
        .as_str()
        .unwrap()
        .starts_with("waived: topic `service.health` has retention `6h`"));
    assert_eq!(waived["suppressions"][0]["kind"], "inSource");
}
