//! `topicform lag` against a real broker: offsets produced and committed by
//! the test itself, read back per group and partition.

mod support;

use support::{apply, broker, commit, kafka_spec, produce, topicform, unique_prefix, Workspace};

fn lag_json(spec: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let out = topicform().args(["lag", "-e", "test", "-o", "json", "-f"]).arg(spec).args(extra).output().unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn lag_is_the_end_of_each_partition_minus_the_groups_committed_offset() {
    let p = unique_prefix("lag");
    let (orders, audit) = (format!("{p}orders"), format!("{p}audit"));
    let (billing, reporting) = (format!("{p}billing"), format!("{p}reporting"));
    let ws = Workspace::new();
    let spec = ws.spec(&kafka_spec(
        broker(),
        "",
        &format!(
            "  {orders}: {{ partitions: 2, consumers: [{billing}, {reporting}] }}\n  {audit}: {{ consumers: [{reporting}] }}\n"
        ),
    ));
    apply(&spec, &[]);
    produce(&orders, 0, 5);
    produce(&orders, 1, 3);
    produce(&audit, 0, 4);
    commit(&billing, &orders, 0, 2);
    commit(&billing, &orders, 1, 3);
    commit(&reporting, &audit, 0, 1);

    let report = lag_json(&spec, &[]);
    assert_eq!(report["formatVersion"], 1);
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "the spec's consumers are the groups: {report:#}");
    let group = |name: &str| groups.iter().find(|g| g["group"] == name).unwrap_or_else(|| panic!("{name}: {report:#}"));
    let billing_lag = group(&billing);
    assert_eq!(billing_lag["lag"], 3, "(5-2) + (3-3): {report:#}");
    let p0 = &billing_lag["partitions"][0];
    assert_eq!(
        (p0["partition"].as_i64(), p0["committed"].as_i64(), p0["end"].as_i64(), p0["lag"].as_i64()),
        (Some(0), Some(2), Some(5), Some(3))
    );
    // reporting never committed on orders: no lag number there, only audit's.
    let reporting_lag = group(&reporting);
    assert_eq!(reporting_lag["lag"], 3, "audit 4-1: {report:#}");
    let never = reporting_lag["partitions"].as_array().unwrap().iter().find(|p| p["topic"] == orders.as_str()).unwrap();
    assert!(never["committed"].is_null() && never["lag"].is_null(), "{report:#}");

    // --group narrows to one group; its text output names every partition.
    let only = lag_json(&spec, &["--group", &billing]);
    assert_eq!(only["groups"].as_array().unwrap().len(), 1);
    let text = topicform().args(["lag", "-e", "test", "--group", &billing, "-f"]).arg(&spec).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains(&format!("group {billing}: lag 3")), "{text}");
    assert!(text.lines().any(|l| l.contains(&orders) && l.trim_end().ends_with('3')), "{text}");
}

#[test]
fn a_group_the_spec_does_not_name_is_measured_on_every_topic() {
    let p = unique_prefix("lagx");
    let topic = format!("{p}t");
    let ws = Workspace::new();
    let spec = ws.spec(&kafka_spec(broker(), "", &format!("  {topic}: {{}}\n")));
    apply(&spec, &[]);
    produce(&topic, 0, 2);
    let group = format!("{p}adhoc");
    commit(&group, &topic, 0, 2);
    let report = lag_json(&spec, &["--group", &group]);
    assert_eq!(report["groups"][0]["lag"], 0, "{report:#}");
    assert_eq!(report["groups"][0]["partitions"][0]["committed"], 2, "{report:#}");
}
