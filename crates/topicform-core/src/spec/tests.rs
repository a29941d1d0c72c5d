//! Unit tests of loading, merging and validation, without files or brokers.

use super::*;
use model::Cluster;

const SPEC: &str = r#"
version: 1
defaults:
  partitions: 6
  replicationFactor: 3
  config: { retention.ms: 7d, cleanup.policy: delete }
environments:
  local:
    cluster: { type: kafka, bootstrapServers: ["localhost:9092"] }
    defaults: { partitions: 3, replicationFactor: 1, config: { segment.ms: 1h } }
    topics:
      audit.log: { partitions: 2, config: { retention.ms: "${AUDIT_RETENTION:-30d}" } }
topics:
  user.created: {}
  audit.log:
    partitions: 12
    config: { cleanup.policy: compact, retention.ms: 90d }
"#;

fn no_vars(_: &str) -> Option<String> {
    None
}

fn resolved(vars: VarLookup) -> ResolvedEnvironment {
    parse("t.yaml", SPEC).unwrap().resolve("local", vars).map_err(|f| format!("{f:?}")).unwrap().0
}

fn topic<'a>(env: &'a ResolvedEnvironment, name: &str) -> &'a DesiredTopic {
    env.topics.iter().find(|t| t.name == name).unwrap()
}

#[test]
fn layers_merge_in_order_and_configs_key_by_key() {
    let env = resolved(&no_vars);
    // defaults(6) <- env defaults(3): the env default wins for a plain topic.
    let user = topic(&env, "user.created");
    assert_eq!((user.partitions, user.replication_factor), (3, Some(1)));
    assert_eq!(user.config["retention.ms"], "604800000");
    assert_eq!(user.config["segment.ms"], "3600000");
    // topic(12) beats env defaults(3); env override(2) beats the topic.
    let audit = topic(&env, "audit.log");
    assert_eq!(audit.partitions, 2);
    // Config merges key by key: topic's compact, env override's retention
    // (its ${VAR} default), env defaults' segment.ms.
    assert_eq!(audit.config["cleanup.policy"], "compact");
    assert_eq!(audit.config["retention.ms"], "2592000000");
    assert_eq!(audit.config["segment.ms"], "3600000");
}

#[test]
fn config_values_expand_variables() {
    let env = resolved(&|name| (name == "AUDIT_RETENTION").then(|| "2d".to_owned()));
    assert_eq!(topic(&env, "audit.log").config["retention.ms"], "172800000");
}

#[test]
fn a_value_that_is_not_a_variable_reference_is_checked_as_written() {
    // Found by fuzzing: an unterminated `${` stays as written, so validate
    // must check it as a value (it passed before, and `plan` then failed on
    // it); `$${X}` is a literal `${X}`, not a variable to be set.
    let spec = SPEC
        .replace("${AUDIT_RETENTION:-30d}", "${AUDIT_RETENTION:-30d]")
        .replace("cleanup.policy: delete", "cleanup.policy: delete, message.format.version: \"$${KEPT}\"");
    let loaded = parse("t.yaml", &spec).unwrap();
    let found = loaded.validate(&[], &no_vars, UnsetVars::Warn);
    assert!(!found.iter().any(|l| l.finding.message.contains("KEPT")), "no variable to set: {found:?}");
    let errors: Vec<_> =
        found.into_iter().filter(|l| l.finding.is_error()).map(|l| (l.finding.message, l.line_col.unwrap())).collect();
    let not_a_duration = "invalid value for `retention.ms`: `${AUDIT_RETENTION:-30d]` is not a duration; write milliseconds or a number with a unit: 500ms, 30s, 15m, 36h, 7d, 2w";
    assert_eq!(errors, vec![(not_a_duration.to_owned(), (12, 59))]);
    let env = loaded.resolve("local", &no_vars);
    assert!(env.is_err(), "resolve refuses what validate refused");
    let literal = parse("t.yaml", &spec.replace("]\"", "}\"")).unwrap().resolve("local", &no_vars).unwrap().0;
    assert_eq!(topic(&literal, "user.created").config["message.format.version"], "${KEPT}");
}

#[test]
fn unset_variables_warn_in_validate_and_fail_when_used() {
    let spec = SPEC.replace("${AUDIT_RETENTION:-30d}", "${AUDIT_RETENTION}");
    let loaded = parse("t.yaml", &spec).unwrap();
    let warn = loaded.validate(&[], &no_vars, UnsetVars::Warn);
    assert_eq!(warn.len(), 1, "{warn:?}");
    assert_eq!(warn[0].finding.severity, Severity::Warning);
    assert_eq!(warn[0].line_col, Some((12, 59)));
    let failed = loaded.resolve("local", &no_vars).unwrap_err();
    assert!(failed.iter().any(|l| l.finding.is_error() && l.finding.message.contains("AUDIT_RETENTION")));
}

#[test]
fn the_same_finding_from_several_environments_is_reported_once() {
    let spec = SPEC.replace("retention.ms: 7d", "retention.ms: soon").replace(
        "topics:\n  user.created",
        "  other:\n    cluster: { type: kafka, bootstrapServers: [\"localhost:9093\"] }\ntopics:\n  user.created",
    );
    let loaded = parse("t.yaml", &spec).unwrap();
    let found = loaded.validate(&[], &no_vars, UnsetVars::Warn);
    let bad: Vec<_> = found.iter().filter(|l| l.finding.message.contains("`soon`")).collect();
    assert_eq!(bad.len(), 1, "{found:#?}");
}

/// Errors (message, line, column) of `validate` over `envs`.
fn errors(text: &str, envs: &[&str]) -> Vec<(String, usize, usize)> {
    let found = parse("t.yaml", text).unwrap().validate(envs, &no_vars, UnsetVars::Warn);
    found
        .into_iter()
        .filter(|l| l.finding.is_error())
        .map(|l| {
            let (line, col) = l.line_col.unwrap();
            (l.finding.message, line, col)
        })
        .collect()
}

#[test]
fn value_checks_fire_in_a_spec_without_environments() {
    let text = "version: 1\n\
                defaults: { partitions: 0, replicationFactor: 1 }\n\
                topics:\n  \
                  orders: { replicationFactor: 0, config: { retention.ms: 7 days } }\n";
    assert_eq!(
        errors(text, &[]),
        vec![
            ("partitions must be between 1 and 2147483647, not 0".to_owned(), 2, 25),
            ("replicationFactor must be between 1 and 32767, not 0".to_owned(), 4, 32),
            (
                "invalid value for `retention.ms`: `7 days` is not a duration; write milliseconds or a number with a unit: 500ms, 30s, 15m, 36h, 7d, 2w"
                    .to_owned(),
                4,
                59
            ),
        ]
    );
}

const TWO_ENVIRONMENTS: &str = r#"
version: 1
defaults: { partitions: 0, replicationFactor: 1 }
environments:
  local:
    cluster: { type: kafka, bootstrapServers: ["localhost:9092"] }
    defaults: { partitions: 3 }
  prod:
    cluster: { type: kafka, bootstrapServers: ["localhost:9093"] }
    defaults: { partitions: 6, replicationFactor: 40000 }
    topics:
      orders: { config: { retention.ms: soon } }
      ordrs: { partitions: 1 }
topics:
  orders: {}
"#;

#[test]
fn value_checks_cover_values_no_checked_environment_uses() {
    // Every environment overrides `defaults.partitions: 0`, and `-e local`
    // does not check prod: each written value is checked all the same.
    let expected = vec![
        ("partitions must be between 1 and 2147483647, not 0".to_owned(), 3, 25),
        ("replicationFactor must be between 1 and 32767, not 40000".to_owned(), 10, 51),
        ("invalid value for `retention.ms`: `soon` is not a duration; write milliseconds or a number with a unit: 500ms, 30s, 15m, 36h, 7d, 2w".to_owned(), 12, 41),
        ("environment `prod` overrides `ordrs`, which is not a topic of the spec".to_owned(), 13, 7),
    ];
    assert_eq!(errors(TWO_ENVIRONMENTS, &["local"]), expected);
    assert_eq!(errors(TWO_ENVIRONMENTS, &[]), expected, "once each, with every environment checked");
    // So an environment is not used while the spec holds an invalid value.
    let loaded = parse("t.yaml", TWO_ENVIRONMENTS).unwrap();
    assert_eq!(loaded.resolve("local", &no_vars).unwrap_err().len(), expected.len());
}

/// A `type: kafka` environment authenticating with OIDC, with `${VAR}` in
/// the token endpoint and the scope.
const OAUTH: &str = r#"
version: 1
defaults: { partitions: 1, replicationFactor: 1 }
environments:
  oidc:
    cluster:
      type: kafka
      bootstrapServers: ["localhost:9092"]
      sasl:
        mechanism: OAUTHBEARER
        oauth:
          tokenEndpoint: "${IDP_URL}/token"
          clientId: topicform
          clientSecret: { env: IDP_SECRET }
          scope: ${KAFKA_SCOPE}
topics:
  orders: {}
"#;

#[test]
fn unset_variables_in_oauth_token_endpoint_and_scope_are_reported() {
    let loaded = parse("t.yaml", OAUTH).unwrap();
    let unset = |found: &[Located]| -> Vec<(Severity, String, (usize, usize))> {
        found.iter().map(|l| (l.finding.severity, l.finding.message.clone(), l.line_col.unwrap())).collect()
    };
    let message = |var: &str| format!("environment variable `{var}` is not set (used by environment `oidc`)");
    assert_eq!(
        unset(&loaded.validate(&[], &no_vars, UnsetVars::Warn)),
        vec![(Severity::Warning, message("IDP_URL"), (12, 26)), (Severity::Warning, message("KAFKA_SCOPE"), (15, 18))]
    );
    assert_eq!(
        unset(&loaded.resolve("oidc", &no_vars).unwrap_err()),
        vec![(Severity::Error, message("IDP_URL"), (12, 26)), (Severity::Error, message("KAFKA_SCOPE"), (15, 18))]
    );
    let vars = |name: &str| match name {
        "IDP_URL" => Some("https://idp.example".to_owned()),
        "KAFKA_SCOPE" => Some("kafka".to_owned()),
        _ => None,
    };
    let (env, warnings) = loaded.resolve("oidc", &vars).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let Cluster::Kafka(k) = env.cluster else { panic!("a kafka cluster") };
    let oauth = k.sasl.unwrap().oauth.unwrap();
    assert_eq!(oauth.token_endpoint.as_deref(), Some("https://idp.example/token"));
    assert_eq!(oauth.scope.as_deref(), Some("kafka"));
}

/// Every string of a cluster block holding its own `${U<n>}` on its own line.
const EVERY_CLUSTER_STRING: &str = r#"
version: 1
defaults: { partitions: 1, replicationFactor: 1 }
environments:
  k:
    clusterId: "${U1}"
    cluster:
      type: kafka
      bootstrapServers: ["${U2}"]
      tls:
        caFile: "${U3}"
        certFile: "${U4}"
        key: { file: "${U5}" }
      sasl:
        mechanism: OAUTHBEARER
        username: { env: "${U6}" }
        password: { env: "${U7}" }
        oauth:
          tokenEndpoint: "${U8}"
          credential: azureCli
          scope: "${U9}"
          clientId: "${U10}"
          clientSecret: { env: "${U11}" }
          tenantId: "${U12}"
          authorityHost: "${U13}"
      clientConfig:
        client.rack: "${U14}"
  eh:
    cluster:
      type: eventhubs
      namespace: "${U15}"
      tier: premium
      subscriptionId: "${U16}"
      resourceGroup: "${U17}"
      management:
        credential: clientSecret
        tenantId: "${U18}"
        clientId: "${U19}"
        clientSecret: { file: "${U20}" }
      kafka:
        mechanism: PLAIN
        connectionString: { env: "${U21}" }
      armEndpoint: "${U22}"
      authorityHost: "${U23}"
      bootstrapServers: ["${U24}"]
      tls:
        caFile: "${U25}"
        certFile: "${U26}"
        key: { env: "${U27}" }
topics:
  orders: {}
"#;

#[test]
fn every_string_expansion_reaches_is_checked_for_unset_variables_where_it_is_written() {
    let loaded = parse("t.yaml", EVERY_CLUSTER_STRING).unwrap();
    let found = loaded.validate(&[], &no_vars, UnsetVars::Warn);
    let mut named: Vec<(String, usize)> = found
        .iter()
        .filter(|l| l.finding.message.contains("is not set"))
        .map(|l| (l.finding.message.split('`').nth(1).unwrap().to_owned(), l.line_col.unwrap().0))
        .collect();
    named.sort_by_key(|(var, _)| var[1..].parse::<usize>().unwrap());
    let expected: Vec<(String, usize)> = (1..=27)
        .map(|n| {
            let var = format!("U{n}");
            let line = EVERY_CLUSTER_STRING.lines().position(|l| l.contains(&format!("${{{var}}}"))).unwrap() + 1;
            (var, line)
        })
        .collect();
    assert_eq!(named, expected);
    // They are the strings resolution expands: the walker visits 26 in the
    // two cluster blocks; `clusterId` is the 27th.
    let walked: usize =
        loaded.spec.environments.values().map(|e| expand::cluster_strings_mut(&mut e.cluster.clone()).len()).sum();
    assert_eq!(walked, 26);
}

#[test]
fn kafka_values_the_broker_would_refuse_and_colliding_names_fail_validate() {
    let text = "version: 1\ndefaults: { partitions: 1, replicationFactor: 1 }\nenvironments:\n  dev:\n    cluster: { type: kafka, bootstrapServers: [\"localhost:9092\"] }\ntopics:\n  a.b: {}\n  a_b: {}\n  c: { partitions: 2147483647, config: { cleanup.policy: foo, min.insync.replicas: abc } }\n";
    let loaded = super::parse("t.yaml", text).unwrap();
    let found = loaded.validate(&["dev"], &|_| None, super::UnsetVars::Warn);
    let errors: Vec<String> =
        found.iter().filter(|l| l.finding.is_error()).map(|l| l.finding.message.clone()).collect();
    for expected in [
        "topic `a_b` collides with `a.b`",
        "invalid value for `cleanup.policy`: `foo` is not one of `compact`, `delete`",
        "invalid value for `min.insync.replicas`: `abc` is not a whole number",
        "topic `c`: 2147483647 partitions is more than 100000",
    ] {
        assert!(errors.iter().any(|e| e.contains(expected)), "{expected} not in {errors:#?}");
    }
}

#[test]
fn an_environment_names_its_lock_and_a_bad_one_is_located() {
    let spec = |lock: &str| {
        format!(
            "version: 1\nenvironments:\n  prod:\n    cluster: {{ type: kafka, bootstrapServers: [\"b:9092\"] }}\n    lock: {lock}\ntopics:\n  t: {{ partitions: 1, replicationFactor: 1 }}\n"
        )
    };
    let loaded = parse("t.yaml", &spec("kubernetes:platform/topicform-prod")).unwrap();
    let env = loaded.resolve("prod", &no_vars).unwrap().0;
    assert_eq!(
        env.lock,
        Some(lock::LockChoice::Kubernetes { namespace: Some("platform".into()), name: Some("topicform-prod".into()) })
    );
    let found = errors(&spec("kubernetes:Platform"), &[]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].0.contains("not a Kubernetes namespace"), "{found:?}");
    assert_eq!((found[0].1, found[0].2), (5, 11), "at the value");
}

fn contribution(owner: &str, created: &str, text: &str) -> Contributed {
    let document = format!("configmap/{}/topics.yaml", owner.trim_start_matches("ConfigMap "));
    parse_contribution(owner, created, &document, text).unwrap()
}

#[test]
fn contributed_topics_merge_under_the_spec_defaults_and_overrides_and_name_their_owner() {
    let spec = SPEC.replace(
        "    topics:\n      audit.log:",
        "    topics:\n      orders.placed: { partitions: 9 }\n      audit.log:",
    ) + "from: { kubernetes: {} }\n";
    let loaded = parse("t.yaml", &spec).unwrap();
    let shop = contribution(
        "ConfigMap shop/orders",
        "2026-12-01T00:00:00Z",
        "topics:\n  orders.placed: { config: { retention.ms: 1d } }\n  orders.shipped: {}\n",
    );
    let (env, warnings) = loaded.resolve_with("local", &no_vars, &[shop]).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let placed = topic(&env, "orders.placed");
    // Environment override (9) over the contributed topic; env defaults' segment.ms.
    assert_eq!(placed.partitions, 9);
    assert_eq!(placed.config["retention.ms"], "86400000");
    assert_eq!(placed.config["segment.ms"], "3600000");
    assert_eq!(placed.owner.as_deref(), Some("ConfigMap shop/orders"));
    assert_eq!(topic(&env, "user.created").owner, None);
    assert_eq!(
        env.topics.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["user.created", "audit.log", "orders.placed", "orders.shipped"]
    );
}

#[test]
fn a_contributed_topics_findings_point_into_its_configmap() {
    let loaded = parse("t.yaml", SPEC).unwrap();
    let bad = contribution(
        "ConfigMap shop/orders",
        "2026-12-01T00:00:00Z",
        "topics:\n  orders.placed:\n    partitions: 0\n  __offsets: {}\n",
    );
    let found = loaded.resolve_with("local", &no_vars, &[bad]).unwrap_err();
    let shown: Vec<_> = found
        .iter()
        .map(|l| (l.elsewhere.as_ref().map(|d| d.name.as_str()), l.line_col, l.finding.message.as_str()))
        .collect();
    assert!(
        shown.contains(&(
            Some("configmap/shop/orders/topics.yaml"),
            Some((3, 17)),
            "partitions must be between 1 and 2147483647, not 0"
        )),
        "{shown:#?}"
    );
    assert!(
        shown.contains(&(Some("configmap/shop/orders/topics.yaml"), Some((4, 3)), "`__offsets` is an internal topic")),
        "{shown:#?}"
    );
    // Each once, though the merged spec and the ConfigMap's own checks both see it.
    assert_eq!(shown.iter().filter(|s| s.2.starts_with("partitions must be")).count(), 1, "{shown:#?}");
}

#[test]
fn conflicts_come_back_with_the_environment_and_the_older_declaration_stands() {
    let loaded = parse("t.yaml", SPEC).unwrap();
    let old = contribution("ConfigMap a/one", "2026-12-01T00:00:00Z", "topics:\n  orders: { partitions: 4 }\n");
    let new = contribution("ConfigMap b/two", "2026-12-02T00:00:00Z", "topics:\n  orders: { partitions: 8 }\n");
    let (env, _) = loaded.resolve_with("local", &no_vars, &[new, old]).unwrap();
    assert_eq!(topic(&env, "orders").partitions, 4);
    assert_eq!(env.conflicts.len(), 1);
    assert_eq!(
        (env.conflicts[0].kept.as_str(), env.conflicts[0].refused.as_str()),
        ("ConfigMap a/one", "ConfigMap b/two")
    );
}

#[test]
fn an_override_of_an_undeclared_topic_is_only_a_warning_where_topics_are_contributed() {
    let spec = format!("{SPEC}from: {{ kubernetes: {{ namespaces: [shop, Bad_NS] }} }}\n")
        .replace("audit.log: { partitions: 2,", "contributed.one: { partitions: 2,");
    let found = parse("t.yaml", &spec).unwrap().validate(&[], &no_vars, UnsetVars::Warn);
    let messages: Vec<_> = found.iter().map(|l| (l.finding.severity, l.finding.message.as_str())).collect();
    assert!(
        messages.contains(&(
            Severity::Warning,
            "environment `local` overrides `contributed.one`, which the spec does not declare"
        )),
        "{messages:#?}"
    );
    assert!(messages.contains(&(Severity::Error, "`Bad_NS` is not a Kubernetes namespace name")), "{messages:#?}");
}

#[test]
fn a_written_value_without_variables_is_checked_even_where_no_checked_environment_uses_it() {
    // `$${R}` and an unterminated `${R` read the same whatever is set, so
    // `validate -e local` refuses them in prod's override as `plan -e prod`
    // would.
    for (written, value) in [("$${R}", "${R}"), ("${R", "${R")] {
        let text = TWO_ENVIRONMENTS.replace("retention.ms: soon", &format!("retention.ms: \"{written}\""));
        let message = format!("invalid value for `retention.ms`: `{value}` is not a duration; write milliseconds or a number with a unit: 500ms, 30s, 15m, 36h, 7d, 2w");
        assert!(errors(&text, &["local"]).contains(&(message, 12, 41)), "{written}: {:#?}", errors(&text, &["local"]));
    }
}

#[test]
fn namespaces_to_read_topics_from_are_checked_once_their_variables_are_expanded() {
    let spec = |namespaces: &str| format!("{SPEC}from: {{ kubernetes: {{ namespaces: [{namespaces}] }} }}\n");
    let findings = |text: &str, vars: VarLookup| -> Vec<(Severity, String, (usize, usize))> {
        let found = parse("t.yaml", text).unwrap().validate(&[], vars, UnsetVars::Warn);
        found.into_iter().map(|l| (l.finding.severity, l.finding.message, l.line_col.unwrap())).collect()
    };
    let at = (18, 36);
    assert_eq!(
        findings(&spec("\"${SHOP_NS}\""), &no_vars),
        vec![(Severity::Warning, "environment variable `SHOP_NS` is not set (used by environment `local`)".into(), at)]
    );
    let wrong = |name: &str| (name == "SHOP_NS").then(|| "Shop_NS".to_owned());
    assert_eq!(
        findings(&spec("\"${SHOP_NS}\""), &wrong),
        vec![(Severity::Error, "`Shop_NS` (from `${SHOP_NS}`) is not a Kubernetes namespace name".into(), at)]
    );
    let right = |name: &str| (name == "SHOP_NS").then(|| "shop".to_owned());
    assert_eq!(findings(&spec("\"${SHOP_NS}\""), &right), vec![]);
    // A literal `${` is no variable: the name as written is refused.
    assert_eq!(
        findings(&spec("\"$${SHOP_NS}\""), &right),
        vec![(Severity::Error, "`$${SHOP_NS}` is not a Kubernetes namespace name".into(), at)]
    );
}

mod services {
    use super::*;

    const PLATFORM: &str = r#"version: 1
defaults: { partitions: 3, replicationFactor: 1 }
environments:
  local:
    cluster: { type: kafka, bootstrapServers: ["localhost:9092"] }
topics:
  orders.placed:
    consumers: [payment-service]
  payments.completed: {}
services:
  order-service:
    produces: [orders.placed]
    consumes: [payments.completed]
    principals: { local: "User:${ORDERS_USER:-order-service}" }
  payment-service:
    produces: ["payments.*"]
    consumes: [orders.placed]
    principals: { local: User:payment-service }
"#;

    fn findings(text: &str) -> Vec<Located> {
        parse("t.yaml", text).unwrap().validate(&[], &no_vars, UnsetVars::Warn)
    }

    #[test]
    fn services_resolve_with_their_principals_groups_and_derived_consumers() {
        assert!(findings(PLATFORM).is_empty(), "{:?}", findings(PLATFORM));
        let loaded = parse("t.yaml", PLATFORM).unwrap();
        let env = loaded.resolve("local", &no_vars).unwrap().0;
        let names: Vec<(&str, &str, &str)> =
            env.services.iter().map(|s| (s.name.as_str(), s.principal.as_str(), s.group.as_str())).collect();
        assert_eq!(
            names,
            [
                ("order-service", "User:order-service", "order-service"),
                ("payment-service", "User:payment-service", "payment-service")
            ]
        );
        // `payments.completed` names no consumers; order-service's group is one.
        assert_eq!(loaded.spec.consumers_of("payments.completed"), ["order-service"]);
        assert_eq!(loaded.spec.consumers_of("orders.placed"), ["payment-service"]);
    }

    #[test]
    fn a_topic_leaving_out_a_consuming_services_group_names_both_places() {
        let text = PLATFORM.replace("consumers: [payment-service]", "consumers: [billing]");
        let found = findings(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        let f = &found[0];
        assert!(f.finding.is_error());
        assert!(
            f.finding.message.contains("consumes `orders.placed` with group `payment-service`"),
            "{}",
            f.finding.message
        );
        assert_eq!(f.line_col, Some((17, 16)), "at the service's consumes entry");
        assert!(
            f.finding.help.as_deref().unwrap().ends_with("the other side is at t.yaml:8:16"),
            "{:?}",
            f.finding.help
        );
    }

    #[test]
    fn a_topic_listing_a_services_group_the_service_does_not_consume_is_refused() {
        let text = PLATFORM.replace(
            "  payments.completed: {}",
            "  payments.completed: { consumers: [order-service, payment-service] }",
        );
        let found = findings(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].finding.message.contains("lists group `payment-service` of service `payment-service`"));
        assert_eq!(found[0].line_col, Some((9, 52)));
        assert!(found[0].finding.help.as_deref().unwrap().ends_with("t.yaml:15:3"), "{:?}", found[0].finding.help);
    }

    #[test]
    fn bad_entries_principals_and_environments_are_located() {
        let text = PLATFORM
            .replace("produces: [orders.placed]", "produces: [orders.placd, \"ord*ers\"]")
            .replace("consumes: [orders.placed]", "consumes: [\"orders.*\"]")
            .replace(
                "principals: { local: User:payment-service }",
                "principals: { local: payment-service, prod: User:x }",
            );
        let messages: Vec<(String, Option<(usize, usize)>)> =
            findings(&text).into_iter().map(|l| (l.finding.message, l.line_col)).collect();
        let expect = [
            "service `order-service` names `orders.placd`, which is not a topic of this spec",
            "`ord*ers` is neither a topic name nor a prefix",
            "`orders.*`: consumes takes topic names, not prefixes",
            "no environment `prod`",
            "`payment-service` is not a Kafka principal",
            // The consumers of orders.placed name payment-service, which no longer consumes it.
            "`orders.placed` lists group `payment-service` of service `payment-service` as a consumer, but the service does not consume it",
        ];
        for e in expect {
            assert!(messages.iter().any(|(m, _)| m == e), "missing `{e}` in {messages:#?}");
        }
        assert_eq!(messages.len(), expect.len(), "{messages:#?}");
    }

    #[test]
    fn an_unset_principal_variable_fails_only_when_the_environment_is_used() {
        let text = PLATFORM.replace("${ORDERS_USER:-order-service}", "${ORDERS_USER}");
        assert!(findings(&text).iter().all(|f| !f.finding.is_error()));
        let failed = parse("t.yaml", &text).unwrap().resolve("local", &no_vars).unwrap_err();
        assert!(failed.iter().any(|l| l.finding.is_error() && l.finding.message.contains("ORDERS_USER")), "{failed:?}");
    }

    #[test]
    fn a_principal_keeps_its_unset_variables_apart_from_its_text() {
        // What `env --service` reads: an unset variable is named, a literal
        // `$${...}` is text (once taken for an unset variable).
        let principal = |written: &str| {
            let text = PLATFORM.replace("${ORDERS_USER:-order-service}", written);
            let env = parse("t.yaml", &text).unwrap().resolve_without_access("local", &no_vars).unwrap().0;
            let s = env.services.into_iter().find(|s| s.name == "order-service").unwrap();
            (s.principal, s.unset_vars)
        };
        assert_eq!(principal("${ORDERS_USER}"), ("User:${ORDERS_USER}".to_owned(), vec!["ORDERS_USER".to_owned()]));
        assert_eq!(principal("$${orders}"), ("User:${orders}".to_owned(), vec![]));
    }

    #[test]
    fn event_hubs_principals_must_be_entra_object_ids_named_where_they_are_written() {
        let text = PLATFORM.replace(
            "  local:\n    cluster: { type: kafka, bootstrapServers: [\"localhost:9092\"] }",
            "  local:\n    cluster: { type: eventhubs, namespace: ns-orders, tier: standard, subscriptionId: s, resourceGroup: g }",
        );
        let found = findings(&text);
        let refused: Vec<_> = found.iter().filter(|f| f.finding.is_error()).collect();
        assert_eq!(refused.len(), 2, "{found:?}");
        assert_eq!(refused[0].finding.message, "`User:order-service` is not an Entra object id");
        assert_eq!(refused[0].line_col, Some((14, 26)));
        assert!(refused[0].finding.help.as_deref().unwrap().contains("service_principal_ids"));

        let ids = text
            .replace("${ORDERS_USER:-order-service}", "0A3C5E7F-1111-4222-8333-444455556666")
            .replace("User:payment-service", "7b1d9e20-aaaa-4bbb-8ccc-ddddeeeeffff")
            .replace("User:0A3C", "0A3C");
        assert!(findings(&ids).iter().all(|f| !f.finding.is_error()), "{:?}", findings(&ids));
    }
}

#[test]
fn ownership_entries_and_topics_outside_them_are_located() {
    let text = "version: 1
defaults: { partitions: 1, replicationFactor: 1 }
environments:
  shared:
    cluster: { type: kafka, bootstrapServers: [\"localhost:9092\"] }
    owns: [\"orders.*\", \"*.audit\"]
topics:
  orders.placed: {}
  payments.done: {}
";
    assert_eq!(
        errors(text, &[]),
        [("`*.audit`: `*` may only end an entry (a prefix), as in `orders.*`".to_owned(), 6, 24)]
    );
    let fixed = text.replace(", \"*.audit\"", "");
    assert_eq!(
        errors(&fixed, &[]),
        [("topic `payments.done` is outside what environment `shared` owns (owns: [orders.*])".to_owned(), 9, 3)]
    );
    let owned = fixed.replace("[\"orders.*\"]", "[\"orders.*\", payments.done]");
    assert_eq!(errors(&owned, &[]), []);
    let (env, _) = parse("t.yaml", &owned).unwrap().resolve("shared", &no_vars).unwrap();
    assert!(env.owns.contains("orders.x") && !env.owns.contains("billing"));
}
