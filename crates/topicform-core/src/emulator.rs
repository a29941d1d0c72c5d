//! The Azure Event Hubs emulator's `Config.json` for an environment's
//! topics and consumer groups (`export --format eventhubs-emulator`). Pure.
//!
//! The emulator has no management API: it creates its event hubs from this
//! file when it starts. Its limits (the emulator's `Config-schema.json` and
//! Microsoft Learn's "Overview of Event Hubs emulator"; copies and sources
//! in `tests/testdata/emulator/`): one namespace, `emulatorNs1`; at most 10
//! event hubs, each with 1 to 32 partitions (an integer since emulator
//! 1.2.4) and at most 20 consumer groups; `$Default` exists already and may
//! not be listed; names start and end with a letter or digit. What does not
//! fit is refused whole, naming each problem: a partial file would start an
//! emulator that silently lacks topics.

use serde_json::{json, Value};

use crate::spec::{ResolvedEnvironment, Spec};

/// The emulator's only namespace.
pub const NAMESPACE: &str = "emulatorNs1";
/// Event hubs the emulator holds.
pub const MAX_EVENT_HUBS: usize = 10;
/// Partitions of one event hub.
pub const MAX_PARTITIONS: u32 = 32;
/// Consumer groups of one event hub, `$Default` not counted.
pub const MAX_CONSUMER_GROUPS: usize = 20;

/// The `Config.json` for `env`'s topics that `keep` selects, with the
/// consumer groups `spec` names for each (`consumers:` and the services
/// that consume it); or every reason the emulator could not hold them.
pub fn config(spec: &Spec, env: &ResolvedEnvironment, keep: &dyn Fn(&str) -> bool) -> Result<Value, Vec<String>> {
    let topics: Vec<_> = env.topics.iter().filter(|t| keep(&t.name)).collect();
    let mut problems = Vec::new();
    if topics.is_empty() {
        problems.push("no topic selected: the emulator needs at least one event hub".to_owned());
    }
    if topics.len() > MAX_EVENT_HUBS {
        problems.push(format!(
            "{} topics selected, and the emulator holds at most {MAX_EVENT_HUBS} event hubs: choose the ones a developer needs with --include / --exclude (regular expressions)",
            topics.len()
        ));
    }
    let mut entities = Vec::new();
    for t in &topics {
        if !emulator_name(&t.name) {
            problems.push(format!("`{}`: the emulator wants names that start and end with a letter or digit", t.name));
        }
        if t.partitions > MAX_PARTITIONS {
            problems.push(format!(
                "`{}`: {} partitions, and the emulator allows at most {MAX_PARTITIONS}; set fewer for this environment (`environments.{}.topics`)",
                t.name, t.partitions, env.name
            ));
        }
        // `$Default` is there already; listing it is an error.
        let groups: Vec<String> =
            spec.consumers_of(&t.name).into_iter().filter(|g| !g.eq_ignore_ascii_case("$default")).collect();
        if groups.len() > MAX_CONSUMER_GROUPS {
            problems.push(format!(
                "`{}`: {} consumer groups, and the emulator allows at most {MAX_CONSUMER_GROUPS} per event hub",
                t.name,
                groups.len()
            ));
        }
        for g in groups.iter().filter(|g| !emulator_name(g)) {
            problems.push(format!("`{}`: consumer group `{g}` does not start and end with a letter or digit", t.name));
        }
        let mut entity = json!({ "Name": t.name, "PartitionCount": t.partitions });
        if !groups.is_empty() {
            entity["ConsumerGroups"] = groups.iter().map(|g| json!({ "Name": g })).collect();
        }
        entities.push(entity);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(json!({
        "UserConfig": {
            "NamespaceConfig": [{ "Type": "EventHub", "Name": NAMESPACE, "Entities": entities }],
            "LoggingConfig": { "Type": "File" }
        }
    }))
}

/// `^[A-Za-z0-9]$|^[A-Za-z0-9][\w-.\/]*[A-Za-z0-9]$`, the schema's pattern
/// for event hub and consumer group names.
fn emulator_name(name: &str) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let inner = |c: char| c.is_alphanumeric() || c == '_' || matches!(c, '-' | '.' | '/');
    alnum(name.chars().next()) && alnum(name.chars().last()) && name.chars().all(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(text: &str) -> (Spec, ResolvedEnvironment) {
        let loaded = crate::spec::parse("t.yaml", text).unwrap();
        let (env, _) = loaded.resolve("dev", &|_| None).unwrap();
        (loaded.spec, env)
    }

    fn spec(topics: &str) -> String {
        format!(
            "version: 1
defaults: {{ partitions: 2, replicationFactor: 1 }}
environments:
  dev:
    cluster: {{ type: kafka, bootstrapServers: [\"localhost:9092\"] }}
topics:
{topics}services:
  billing:
    consumes: [orders.placed]
"
        )
    }

    #[test]
    fn topics_become_event_hubs_with_their_groups_and_default_stays_implicit() {
        let (s, env) = resolved(&spec(
            "  orders.placed: { consumers: [\"$Default\", audit, billing] }\n  orders.paid: { partitions: 4 }\n",
        ));
        let config = config(&s, &env, &|_| true).unwrap();
        assert_eq!(
            config["UserConfig"]["NamespaceConfig"][0]["Entities"],
            json!([
                { "Name": "orders.placed", "PartitionCount": 2, "ConsumerGroups": [{ "Name": "audit" }, { "Name": "billing" }] },
                { "Name": "orders.paid", "PartitionCount": 4 }
            ])
        );
        assert_eq!(config["UserConfig"]["NamespaceConfig"][0]["Name"], NAMESPACE);
    }

    #[test]
    fn what_the_emulator_cannot_hold_is_refused_whole_naming_each_problem() {
        let many: String = (0..11).map(|i| format!("  t{i}: {{}}\n")).collect();
        let (s, env) = resolved(&spec(&format!("  orders.placed: {{ partitions: 48 }}\n{many}")));
        let problems = config(&s, &env, &|_| true).unwrap_err();
        assert!(
            problems.iter().any(|p| p.starts_with("12 topics selected, and the emulator holds at most 10 event hubs")),
            "{problems:?}"
        );
        assert!(problems.iter().any(|p| p.starts_with("`orders.placed`: 48 partitions")), "{problems:?}");
        // Narrowed by the caller's filter, it fits.
        assert!(config(&s, &env, &|t| t.starts_with("t1")).is_ok());
        let groups: String = (0..21).map(|i| format!("g{i}, ")).collect();
        let (s, env) = resolved(&spec(&format!("  orders.placed: {{ consumers: [{groups}billing] }}\n")));
        let problems = config(&s, &env, &|_| true).unwrap_err();
        assert_eq!(problems, ["`orders.placed`: 22 consumer groups, and the emulator allows at most 20 per event hub"]);
    }

    #[test]
    fn names_follow_the_emulators_pattern() {
        assert!(emulator_name("orders.placed") && emulator_name("a") && emulator_name("a_b-c/d"));
        assert!(!emulator_name("_internal") && !emulator_name("orders-") && !emulator_name(""));
    }
}
