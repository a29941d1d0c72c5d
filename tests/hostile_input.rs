//! Specs that once crashed topicform, were half read or echoed a secret
//! (issue 11, items 1, 2, 3, 5 and 13): each must end in a located error,
//! exit 1, never a panic (101) or an abort (134), never a spec that
//! validates, and never a secret in the output.

mod support;

use std::process::Output;

use support::{topicform, Workspace};

fn validate(ws: &Workspace, name: &str, content: &[u8]) -> (Output, String) {
    let path = ws.path(name);
    std::fs::write(&path, content).unwrap();
    let out = topicform().args(["validate", "-f"]).arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).replace(&path.display().to_string(), name);
    (out, stderr)
}

fn assert_refused(out: &Output, stderr: &str, expected: &str) {
    assert_eq!(out.status.code(), Some(1), "exit code (101 = panic, 134 = abort):\n{stderr}");
    assert!(stderr.contains(expected), "`{expected}` not in:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_error_far_along_a_very_long_line_is_located_without_a_snippet() {
    // A generated one-line JSON spec: 4,000 topics, a typo in the last one,
    // well past column 65,534 (where miette's renderer used to panic).
    let topics: Vec<String> = (0..4_000).map(|i| format!("\"generated.topic.{i:05}\": {{}}")).collect();
    let text = format!("{{\"version\": 1, \"topics\": {{{}, \"late\": {{\"partitionz\": 3}}}}}}\n", topics.join(", "));
    let column = text.find("\"partitionz\"").unwrap() + 1;
    assert!(column > 65_534, "the test needs a column past 65,534, not {column}");
    let ws = Workspace::new();
    let (out, stderr) = validate(&ws, "long.json.yaml", text.as_bytes());
    assert_refused(&out, &stderr, &format!("long.json.yaml:1:{column}: unknown key `partitionz`"));
    assert!(stderr.len() < 4_096, "the 200 KB line was shown as a snippet:\n{}", &stderr[..4_096]);
}

#[test]
fn deep_nesting_is_refused_before_it_can_overflow_the_stack() {
    let ws = Workspace::new();
    for (name, text) in [
        ("block.yaml", format!("{}x\n", "- ".repeat(20_000))),
        ("in-a-topic.yaml", format!("version: 1\ntopics:\n  a:\n    {}x\n", "- ".repeat(20_000))),
        ("flow.yaml", format!("version: 1\ntopics:\n  a: {}{}\n", "[".repeat(100), "]".repeat(100))),
    ] {
        let (out, stderr) = validate(&ws, name, text.as_bytes());
        assert_refused(&out, &stderr, "the spec nests deeper than 64 levels");
        assert!(stderr.contains(&format!("{name}:")), "{stderr}");
    }
}

#[test]
fn content_after_the_first_document_is_an_error_not_ignored() {
    let ws = Workspace::new();
    let spec = "version: 1\ntopics:\n  a: {}\n";
    for (name, rest, line) in [
        ("dashes.yaml", "---\nversion: 1\ntopics: { b: {} }\n", 4),
        ("invalid-after.yaml", "---\n: : [ not yaml\n", 4),
        ("dots.yaml", "...\nversion: 2\n", 5),
    ] {
        let (out, stderr) = validate(&ws, name, format!("{spec}{rest}").as_bytes());
        assert_refused(&out, &stderr, &format!("{name}:{line}:1: a spec is one YAML document"));
    }
    // A document that starts with `---` is still one document.
    let (out, stderr) = validate(&ws, "explicit.yaml", format!("---\n{spec}").as_bytes());
    assert!(out.status.success(), "{stderr}");
}

#[test]
fn text_that_is_not_utf8_is_located_by_byte_line_and_column() {
    let ws = Workspace::new();
    let (out, stderr) = validate(&ws, "latin1.yaml", b"version: 1\ntopics:\n  caf\xe9: {}\n");
    assert_refused(&out, &stderr, "byte 24 (line 3, column 6) is not valid UTF-8");
    assert!(stderr.contains("save the spec as UTF-8"), "{stderr}");
    let utf16: Vec<u8> =
        [0xFF, 0xFE].into_iter().chain("version: 1\n".encode_utf16().flat_map(u16::to_le_bytes)).collect();
    let (out, stderr) = validate(&ws, "utf16.yaml", &utf16);
    assert_refused(&out, &stderr, "it is UTF-16 (little-endian)");
    // UTF-8 with a byte order mark is UTF-8.
    let (out, stderr) = validate(&ws, "bom.yaml", b"\xef\xbb\xbfversion: 1\ntopics:\n  a: {}\n");
    assert!(out.status.success(), "{stderr}");
}

#[test]
fn a_secret_in_a_malformed_reference_is_never_echoed() {
    support::secrets::register_as("the literal password of the malformed references", "hunter2");
    let ws = Workspace::new();
    let shapes = [
        "password: hunter2",
        "password: { value: hunter2 }",
        "password: { envv: hunter2 }",
        "password: { env: U, file: /x, value: hunter2 }",
        "password: { hunter2: x }",
        "password: [hunter2]",
        "password:\n          value: hunter2",
        "password:\n          envv: hunter2",
        "password:\n          env: U\n          value: hunter2",
        "password:\n          hunter2: x",
        "password:\n          - hunter2",
        "password: |\n          hunter2",
        "password: { env: hunter2, file: hunter2 }",
    ];
    for (n, shape) in shapes.iter().enumerate() {
        let text = format!(
            "version: 1\nenvironments:\n  e:\n    cluster:\n      type: kafka\n      bootstrapServers: [localhost:9092]\n      sasl:\n        mechanism: PLAIN\n        username: {{ env: U }}\n        {shape}\ntopics:\n  a: {{}}\n"
        );
        for format in ["text", "json"] {
            let path = ws.path(&format!("shape-{n}.yaml"));
            std::fs::write(&path, &text).unwrap();
            let out = topicform().args(["validate", "--log-format", format, "-f"]).arg(&path).output().unwrap();
            let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert_eq!(out.status.code(), Some(1), "{shape:?} ({format}) must be refused:\n{all}");
            assert!(!all.contains("hunter2"), "{shape:?} ({format}) echoed the secret:\n{all}");
            assert!(all.contains("shape-"), "{shape:?} ({format}): no location:\n{all}");
        }
    }
}

#[test]
fn thousands_of_findings_are_summarised_for_people_and_listed_for_machines() {
    // Item 11: 20,000 warnings took 75 s (a quadratic dedupe, and each
    // finding located and rendered from the top of the file). Now the
    // first 50 are shown, then a count; JSON logs list every one.
    let topics: String = (0..2_000).map(|i| format!("  t{i:05}: {{ config: {{ my.custom.key: 1 }} }}\n")).collect();
    let spec = format!(
        "version: 1\ndefaults: {{ partitions: 1, replicationFactor: 1 }}\nenvironments:\n  e:\n    cluster:\n      type: kafka\n      bootstrapServers: [localhost:9092]\ntopics:\n{topics}"
    );
    let ws = Workspace::new();
    let path = ws.path("many.yaml");
    std::fs::write(&path, spec).unwrap();
    let out = topicform().args(["validate", "-f"]).arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches("is not a Kafka topic config").count(), 50, "{stderr}");
    assert!(stderr.contains("1950 more finding(s) not shown (0 error(s), 1950 warning(s))"), "{stderr}");
    assert!(stderr.contains("2000 warning(s)"), "{stderr}");
    let out = topicform().args(["validate", "--log-format", "json", "-f"]).arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("is not a Kafka topic config").count(), 2_000);
}
