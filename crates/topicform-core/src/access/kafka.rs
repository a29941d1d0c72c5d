//! Kafka ACLs: the ones the spec's `services:` grant in one environment,
//! and the vocabulary of ACLs as a cluster reports them. Pure.
//!
//! A service that produces a topic gets WRITE and DESCRIBE on it; one that
//! consumes gets READ and DESCRIBE on the topic and READ on its group. Since
//! Kafka 3.0 (KIP-679) WRITE on a topic implies IDEMPOTENT_WRITE, which is
//! why no cluster-level grant appears: idempotent producers, the default of
//! every current client, need nothing more. Every grant is an ALLOW from any
//! host; anything narrower or a DENY is the cluster administrator's, never
//! topicform's.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::ResolvedService;

/// What an ACL is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ResourceType {
    Topic,
    Group,
    Cluster,
    TransactionalId,
    DelegationToken,
    User,
    /// A type this version does not know (reported, never changed).
    Unknown,
}

/// How an ACL's resource name matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PatternType {
    /// The name exactly (`*` alone: every resource of the type).
    Literal,
    /// Every name that starts with it.
    Prefixed,
    Unknown,
}

/// What an ACL allows or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Operation {
    All,
    Read,
    Write,
    Create,
    Delete,
    Alter,
    Describe,
    ClusterAction,
    DescribeConfigs,
    AlterConfigs,
    IdempotentWrite,
    CreateTokens,
    DescribeTokens,
    Unknown,
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Permission {
    Allow,
    Deny,
    Unknown,
}

/// One ACL binding, as Kafka's Admin API describes and creates it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Acl {
    /// `User:NAME` (or another `Type:name` the authorizer knows).
    pub principal: String,
    pub permission: Permission,
    pub operation: Operation,
    pub resource_type: ResourceType,
    pub pattern_type: PatternType,
    /// Topic or group name (or prefix).
    pub resource_name: String,
    /// `*` for any host.
    pub host: String,
}

impl Acl {
    /// An ALLOW of `operation` on a resource, from any host: the only kind
    /// topicform grants.
    pub fn allow(principal: &str, operation: Operation, resource: (ResourceType, PatternType, &str)) -> Acl {
        let (resource_type, pattern_type, name) = resource;
        Acl {
            principal: principal.to_owned(),
            permission: Permission::Allow,
            operation,
            resource_type,
            pattern_type,
            resource_name: name.to_owned(),
            host: ANY_HOST.to_owned(),
        }
    }
}

/// The host of an ACL that applies from anywhere.
pub const ANY_HOST: &str = "*";

impl fmt::Display for Acl {
    /// `User:orders ALLOW WRITE on topic orders.placed`, with `topics
    /// orders.*` for a prefix and `from HOST` when not any host.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let resource = match self.resource_type {
            ResourceType::Topic => "topic",
            ResourceType::Group => "group",
            ResourceType::Cluster => "cluster",
            ResourceType::TransactionalId => "transactional id",
            ResourceType::DelegationToken => "delegation token",
            ResourceType::User => "user",
            ResourceType::Unknown => "unknown resource",
        };
        write!(f, "{} {} {} on ", self.principal, upper(&self.permission), upper(&self.operation))?;
        match self.pattern_type {
            PatternType::Prefixed => write!(f, "{resource}s {}*", self.resource_name)?,
            _ => write!(f, "{resource} {}", self.resource_name)?,
        }
        if self.host != ANY_HOST {
            write!(f, " from {}", self.host)?;
        }
        Ok(())
    }
}

/// `IdempotentWrite` → `IDEMPOTENT_WRITE`, as `kafka-acls.sh` writes it.
fn upper(value: &impl Serialize) -> String {
    let name = serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// A `produces:` entry as a resource: `orders.*` is the prefix `orders.`.
pub fn topic_pattern(entry: &str) -> (ResourceType, PatternType, &str) {
    match entry.strip_suffix('*') {
        Some(prefix) => (ResourceType::Topic, PatternType::Prefixed, prefix),
        None => (ResourceType::Topic, PatternType::Literal, entry),
    }
}

/// Every ACL the services need, each with the service it is for (the first,
/// when two services share a principal).
pub fn desired_acls(services: &[ResolvedService]) -> BTreeMap<Acl, String> {
    let mut out = BTreeMap::new();
    for s in services {
        let mut grant = |operation, resource| {
            out.entry(Acl::allow(&s.principal, operation, resource)).or_insert_with(|| s.name.clone());
        };
        for entry in &s.produces {
            grant(Operation::Write, topic_pattern(entry));
            grant(Operation::Describe, topic_pattern(entry));
        }
        for topic in &s.consumes {
            grant(Operation::Read, (ResourceType::Topic, PatternType::Literal, topic));
            grant(Operation::Describe, (ResourceType::Topic, PatternType::Literal, topic));
        }
        if !s.consumes.is_empty() {
            grant(Operation::Read, (ResourceType::Group, PatternType::Literal, &s.group));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(produces: &[&str], consumes: &[&str]) -> ResolvedService {
        ResolvedService {
            name: "order-service".into(),
            principal: "User:order-service".into(),
            group: "orders".into(),
            produces: produces.iter().map(|s| s.to_string()).collect(),
            consumes: consumes.iter().map(|s| s.to_string()).collect(),
            password: None,
            unset_vars: Vec::new(),
        }
    }

    #[test]
    fn a_producer_writes_and_describes_and_a_consumer_reads_with_its_group() {
        let acls: Vec<String> = desired_acls(&[service(&["orders.placed", "audit.*"], &["payments.done"])])
            .keys()
            .map(Acl::to_string)
            .collect();
        assert_eq!(
            acls,
            [
                "User:order-service ALLOW READ on topic payments.done",
                "User:order-service ALLOW READ on group orders",
                "User:order-service ALLOW WRITE on topic orders.placed",
                "User:order-service ALLOW WRITE on topics audit.*",
                "User:order-service ALLOW DESCRIBE on topic orders.placed",
                "User:order-service ALLOW DESCRIBE on topic payments.done",
                "User:order-service ALLOW DESCRIBE on topics audit.*",
            ]
        );
    }

    #[test]
    fn a_service_that_consumes_nothing_gets_no_group() {
        let acls = desired_acls(&[service(&["orders.placed"], &[])]);
        assert!(acls.keys().all(|a| a.resource_type == ResourceType::Topic), "{acls:?}");
        assert_eq!(acls.len(), 2);
    }

    #[test]
    fn operations_are_written_as_kafka_acls_writes_them() {
        let acl = Acl {
            host: "10.0.0.1".into(),
            ..Acl::allow(
                "User:x",
                Operation::IdempotentWrite,
                (ResourceType::Cluster, PatternType::Literal, "kafka-cluster"),
            )
        };
        assert_eq!(acl.to_string(), "User:x ALLOW IDEMPOTENT_WRITE on cluster kafka-cluster from 10.0.0.1");
    }
}
