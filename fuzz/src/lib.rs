//! What each fuzz target does with its input, and the invariants it checks.
//!
//! One copy, used twice: by the libFuzzer targets in `fuzz_targets/`
//! (nightly, `deploy/fuzz.sh`) and by
//! `crates/topicform-core/tests/fuzz_corpus.rs`, which replays every file of
//! `fuzz/corpus/` and `fuzz/regressions/` on stable Rust, so `cargo test`
//! keeps a fixed crash fixed without nightly.
//!
//! A panic anywhere, topicform's own or an assertion's here, is a crash:
//! every input must end in a value or a located finding.

use topicform_core::plan::{self, Capabilities, ClusterState, ObservedConfig, ObservedTopic, Plan, PlanOptions};
use topicform_core::spec::{self, values, LoadedSpec, Located, ResolvedEnvironment, UnsetVars};

/// The value every `${VAR}` has: a fixed one, so an input behaves the same
/// on every run and machine.
fn fixed_variable(_name: &str) -> Option<String> {
    Some("localhost:9092".to_owned())
}

/// `spec_load`: the bytes as a spec file, through what `topicform validate`
/// and `topicform plan` do with one (without a cluster).
pub fn spec_load(data: &[u8]) {
    // The CLI refuses invalid UTF-8 before parsing; lossy decoding keeps
    // the mutated inputs the fuzzer makes useful instead of discarding them.
    let text = String::from_utf8_lossy(data);
    match spec::parse("fuzz.yaml", &text) {
        Ok(loaded) => {
            assert_eq!(loaded.source.len(), text.len(), "the masked source keeps every offset of the text");
            check_environments(&loaded);
        }
        Err(failure) => assert_located(&failure.source, &failure.problem),
    }
}

/// Validates every environment as `topicform validate` does, then resolves
/// and plans each one as `topicform plan -e NAME` does.
fn check_environments(loaded: &LoadedSpec) {
    let found = loaded.validate(&[], &fixed_variable, UnsetVars::Warn);
    found.iter().for_each(|f| assert_located(&loaded.source, f));
    let valid = !found.iter().any(|f| f.finding.is_error());
    for name in loaded.environment_names() {
        match loaded.resolve(name, &fixed_variable) {
            Ok((env, warnings)) => {
                warnings.iter().for_each(|f| assert_located(&loaded.source, f));
                check_plans(&env);
            }
            Err(found) => {
                // With every variable set, what validate accepts must resolve:
                // else `validate` passes and `plan` fails on the same spec.
                assert!(!valid, "validate found no error, but environment `{name}` does not resolve: {found:?}");
                assert!(found.iter().any(|f| f.finding.is_error()), "`{name}` refused without an error: {found:?}");
                found.iter().for_each(|f| assert_located(&loaded.source, f));
            }
        }
    }
}

/// A finding's snippet span must lie in the source and start on a character:
/// the error renderer slices the source there.
fn assert_located(source: &str, found: &Located) {
    if let Some((offset, _)) = found.span {
        assert!(
            offset <= source.len() && source.is_char_boundary(offset),
            "span at byte {offset} is outside the {}-byte source or inside a character: {found:?}",
            source.len()
        );
    }
}

/// Plans the environment against an empty cluster (everything is created),
/// then against the cluster those creates leave (nothing to do), and reads
/// the plan back from JSON as `apply --plan FILE` does.
fn check_plans(env: &ResolvedEnvironment) {
    let caps = Capabilities::kafka();
    let options = PlanOptions { allow_delete: true, prune_config: true };
    let fresh = plan::plan(env, &ClusterState::default(), &caps, options);
    assert_eq!(fresh.summary.create, env.topics.len(), "an empty cluster gets every topic: {fresh:?}");
    let json = serde_json::to_string(&fresh).expect("a plan serialises");
    let read: Plan = serde_json::from_str(&json).expect("a saved plan reads back");
    assert_eq!(read, fresh, "a saved plan reads back unchanged");

    let again = plan::plan(env, &created(env), &caps, options);
    assert!(!again.has_changes() && !again.has_refusals(), "a cluster as the spec says plans in sync: {again:?}");
}

/// The cluster after creating every topic of `env` as its plan says.
fn created(env: &ResolvedEnvironment) -> ClusterState {
    let topics = env.topics.iter().map(|t| {
        let config =
            t.config.iter().map(|(k, v)| (k.clone(), ObservedConfig { value: v.clone(), is_override: true })).collect();
        let observed = ObservedTopic {
            name: t.name.clone(),
            partitions: t.partitions,
            replication_factor: t.replication_factor,
            config,
        };
        (t.name.clone(), observed)
    });
    ClusterState { cluster_id: None, broker_count: 0, topics: topics.collect(), grants: None }
}

/// `values`: the bytes as `key`, `a` and `b` on their own lines, through the
/// duration parser and the normal form plans compare values in.
pub fn values(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.splitn(3, '\n');
    let (key, a, b) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""), lines.next().unwrap_or(""));
    check_duration(a);
    check_normal_form(key, a);
    assert_eq!(values::equivalent(key, a, b), values::equivalent(key, b, a), "equivalence is symmetric");
    let _ = values::display(key, a);
}

/// A parsed duration is Kafka's (-1 or more) and survives the round trip
/// through the form plans and exported specs write it in.
fn check_duration(text: &str) {
    if let Ok(ms) = values::parse_duration_ms(text) {
        assert!(ms >= -1, "`{text}` parsed to {ms} ms");
        let written = values::format_duration_ms(ms);
        assert_eq!(values::parse_duration_ms(&written), Ok(ms), "`{text}` = {ms} ms, written `{written}`");
    }
}

/// The normal form is a fixed point and equivalent to what it came from, so
/// a broker echoing the value back plans in sync.
fn check_normal_form(key: &str, value: &str) {
    assert!(values::equivalent(key, value, value), "`{key}` = `{value}` equals itself");
    if let Ok(normal) = values::normalise(key, value) {
        assert_eq!(values::normalise(key, &normal).as_deref(), Ok(normal.as_str()), "`{key}` = `{value}`");
        assert!(values::equivalent(key, value, &normal), "`{key}` = `{value}` is equivalent to `{normal}`");
    }
}
