//! `services:`: names, what each produces and consumes, its principals, and
//! agreement with the topics' own `consumers:`.
//!
//! A topic's consumers and the services that consume it describe the same
//! thing twice, so either may be written and the other is derived: a
//! service consuming a topic adds its group to the topic's consumers. They
//! contradict each other when a topic lists its consumers and leaves out the
//! group of a service that consumes it, or lists a service's group while
//! that service does not consume it; both places are named.

use std::sync::LazyLock;

use regex::Regex;

use super::super::expand;
use super::super::finding::{Finding, Pointer, Seg};
use super::super::model::{Cluster, Spec};
use super::{unset_variable, UnsetVars, VarLookup};

static SERVICE_NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$").unwrap());
/// `Type:name`, as Kafka's authorizers write principals.
static KAFKA_PRINCIPAL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z][A-Za-z0-9]*:\S.*$").unwrap());
/// An Entra object id: role assignments name principals by it.
static ENTRA_OBJECT_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$").unwrap());

fn at(service: &str, rest: &[&str]) -> Pointer {
    Pointer::value(["services", service].into_iter().chain(rest.iter().copied()))
}

fn item(service: &str, list: &str, i: usize) -> Pointer {
    let mut p = at(service, &[list]);
    p.path.push(Seg::Index(i));
    p
}

/// What holds whatever the environment: names, entries and the agreement
/// with `consumers:`.
pub(super) fn check(spec: &Spec, out: &mut Vec<Finding>) {
    // Topics may come from ConfigMaps too; then a name the file lacks may
    // be one of theirs.
    let contributed = spec.from.is_some() || spec.environments.values().any(|e| e.from.is_some());
    for (name, service) in &spec.services {
        if !SERVICE_NAME.is_match(name) {
            out.push(
                Finding::error(Pointer::key(["services", name.as_str()]), format!("invalid service name `{name}`"))
                    .help("service names are DNS labels: up to 63 lower-case letters, digits and `-`, as Kubernetes names them"),
            );
        }
        if service.group.as_deref().is_some_and(|g| g.trim().is_empty()) {
            out.push(
                Finding::error(at(name, &["group"]), "empty consumer group name")
                    .help("remove `group:` to use the service name"),
            );
        }
        for (i, entry) in service.produces.iter().enumerate() {
            check_produced(spec, contributed, name, i, entry, out);
        }
        for (i, topic) in service.consumes.iter().enumerate() {
            if topic.contains('*') {
                out.push(
                    Finding::error(
                        item(name, "consumes", i),
                        format!("`{topic}`: consumes takes topic names, not prefixes"),
                    )
                    .help("list each topic the service reads; its group gets READ only on those"),
                );
            } else if !spec.topics.contains_key(topic) {
                out.push(unknown_topic(item(name, "consumes", i), name, topic, contributed));
            }
        }
        for env_name in service.principals.keys() {
            if !spec.environments.contains_key(env_name) {
                out.push(
                    Finding::error(
                        Pointer::key(["services", name.as_str(), "principals", env_name.as_str()]),
                        format!("no environment `{env_name}`"),
                    )
                    .help(format!(
                        "principals are keyed by environment; this spec defines: {}",
                        spec.environments.keys().cloned().collect::<Vec<_>>().join(", ")
                    )),
                );
            }
        }
    }
    check_consumers_agree(spec, out);
}

fn check_produced(spec: &Spec, contributed: bool, service: &str, i: usize, entry: &str, out: &mut Vec<Finding>) {
    let star = entry.find('*');
    if entry.is_empty() || entry == "*" || star.is_some_and(|s| s + 1 != entry.len()) {
        out.push(
            Finding::error(item(service, "produces", i), format!("`{entry}` is neither a topic name nor a prefix"))
                .help("write a topic name, or a prefix ending in `*` such as `orders.*`"),
        );
    } else if let Some(prefix) = entry.strip_suffix('*') {
        if !contributed && !spec.topics.keys().any(|t| t.starts_with(prefix)) {
            out.push(Finding::warning(
                item(service, "produces", i),
                format!("no topic of this spec starts with `{prefix}`"),
            ));
        }
    } else if !spec.topics.contains_key(entry) {
        out.push(unknown_topic(item(service, "produces", i), service, entry, contributed));
    }
}

fn unknown_topic(at: Pointer, service: &str, topic: &str, contributed: bool) -> Finding {
    let message = format!("service `{service}` names `{topic}`, which is not a topic of this spec");
    if contributed {
        // A service's own release may declare it.
        Finding::warning(at, format!("{message} (it may be contributed by a ConfigMap)"))
    } else {
        Finding::error(at, message).help("declare the topic under `topics:`, or fix the name")
    }
}

/// A topic that lists its consumers must list the group of every service
/// that consumes it, and every service whose group it lists must consume it.
fn check_consumers_agree(spec: &Spec, out: &mut Vec<Finding>) {
    for (topic_name, topic) in spec.topics.iter().filter(|(_, t)| !t.consumers.is_empty()) {
        let consumers_at = Pointer::value(["topics", topic_name.as_str(), "consumers"]);
        for (service_name, service) in &spec.services {
            let group = service.group(service_name);
            let consumes = service.consumes.iter().position(|t| t == topic_name);
            let listed = topic.consumers.iter().position(|g| g == group);
            match (consumes, listed) {
                (Some(i), None) => out.push(
                    Finding::error(
                        item(service_name, "consumes", i),
                        format!("service `{service_name}` consumes `{topic_name}` with group `{group}`, but the topic's consumers leave that group out"),
                    )
                    .help(format!("add `{group}` to the consumers of `{topic_name}`, or remove `consumers:` there and let the services define them"))
                    .also(consumers_at.clone()),
                ),
                (None, Some(j)) => {
                    let mut listed_at = consumers_at.clone();
                    listed_at.path.push(Seg::Index(j));
                    out.push(
                        Finding::error(
                            listed_at,
                            format!("`{topic_name}` lists group `{group}` of service `{service_name}` as a consumer, but the service does not consume it"),
                        )
                        .help(format!("add `{topic_name}` to what `{service_name}` consumes, or remove the group here"))
                        .also(Pointer::key(["services", service_name.as_str()])),
                    )
                }
                _ => {}
            }
        }
    }
}

/// Each service's principal in environment `env_name`: the form its
/// cluster takes, and its `${VAR}` references.
pub(super) fn check_principals(
    spec: &Spec,
    env_name: &str,
    cluster: &Cluster,
    vars: VarLookup,
    unset: UnsetVars,
    out: &mut Vec<Finding>,
) {
    for (service_name, service) in &spec.services {
        let Some(principal) = service.principals.get(env_name) else { continue };
        let at = at(service_name, &["principals", env_name]);
        let value = match expand::expand(principal, vars) {
            Ok(value) => value,
            Err(missing) => {
                out.extend(missing.iter().map(|var| unset_variable(at.clone(), var, env_name, unset)));
                continue;
            }
        };
        match cluster {
            Cluster::Kafka(_) if !KAFKA_PRINCIPAL.is_match(&value) => out.push(
                Finding::error(at, format!("`{value}` is not a Kafka principal"))
                    .help("write it as the broker's authorizer names it: `User:NAME` for a SASL user or an OAUTHBEARER subject, `User:CN=...` for a certificate's subject"),
            ),
            Cluster::Kafka(_) => {}
            Cluster::Eventhubs(_) if !ENTRA_OBJECT_ID.is_match(&value) => out.push(
                Finding::error(at, format!("`{value}` is not an Entra object id"))
                    .help("on Event Hubs a service's principal is the object (principal) id of its identity, a GUID such as terraform output `service_principal_ids[\"<service>\"]` of the workload-identity module; not `User:...` and not the client id"),
            ),
            Cluster::Eventhubs(_) => {}
        }
    }
}
