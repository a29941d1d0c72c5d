//! Azure role assignments: the Event Hubs data roles that the spec's
//! `services:` grant in one environment, and the vocabulary of role
//! assignments as Azure Resource Manager reports them. Pure.
//!
//! A service that produces a topic gets "Azure Event Hubs Data Sender" on
//! that event hub; one that consumes it gets "Azure Event Hubs Data
//! Receiver", which also covers the hub's consumer groups (Azure has no
//! group-level grant for Kafka clients). Event Hubs has no prefix scope, so
//! a `produces: [orders.*]` entry becomes one grant per matching event hub
//! of the environment, settled at plan time. Grants are made at event-hub
//! scope only: a namespace-wide grant would cover every hub.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

use super::ResolvedService;

/// A role, by its definition's GUID.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DataRole {
    /// Azure Event Hubs Data Sender: send to the hub.
    Sender,
    /// Azure Event Hubs Data Receiver: receive from the hub and its groups.
    Receiver,
    /// Any other role (Data Owner, a custom role): never granted or revoked.
    Other(String),
}

/// Azure's built-in role ids, the same in every tenant.
pub const DATA_SENDER: &str = "2b629674-e913-4c01-ae53-ef4638d8f975";
/// See [`DATA_SENDER`].
pub const DATA_RECEIVER: &str = "a638d3c7-ab3a-418d-83e6-5f17a39d4fde";

impl DataRole {
    /// The role of a definition id (`.../roleDefinitions/{guid}` in any of
    /// its forms, or the bare GUID).
    pub fn of_definition(id: &str) -> DataRole {
        let guid = id.rsplit('/').next().unwrap_or(id).to_ascii_lowercase();
        match guid.as_str() {
            DATA_SENDER => DataRole::Sender,
            DATA_RECEIVER => DataRole::Receiver,
            _ => DataRole::Other(guid),
        }
    }

    /// The role definition's GUID.
    pub fn guid(&self) -> &str {
        match self {
            DataRole::Sender => DATA_SENDER,
            DataRole::Receiver => DATA_RECEIVER,
            DataRole::Other(guid) => guid,
        }
    }
}

impl fmt::Display for DataRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataRole::Sender => f.write_str("Azure Event Hubs Data Sender"),
            DataRole::Receiver => f.write_str("Azure Event Hubs Data Receiver"),
            DataRole::Other(guid) => write!(f, "role {guid}"),
        }
    }
}

/// Where an assignment applies, relative to the environment's namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RoleScope {
    /// One event hub of the namespace: the only scope topicform grants at.
    Hub(String),
    /// Something inside an event hub (a consumer group), by its ARM id.
    InsideHub(String),
    /// The whole namespace.
    Namespace,
    /// The resource group, subscription or a management group above it.
    Above(String),
}

/// One role assignment.
///
/// Two assignments are the same when principal, role, scope and whether a
/// condition narrows them agree; the name is left out, so one made by hand
/// under another name counts as the grant, as Azure allows only one per
/// principal, role and scope.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    /// The principal's Entra object id, lowercase.
    pub principal: String,
    pub role: DataRole,
    pub scope: RoleScope,
    /// An ABAC condition narrows it: never one of topicform's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub conditional: bool,
    /// Azure's name of an assignment read from it (a GUID); none for one to
    /// create, whose name the backend derives from the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl RoleAssignment {
    /// An unconditional grant of `role` on event hub `hub`.
    pub fn on_hub(principal: &str, role: DataRole, hub: &str) -> RoleAssignment {
        RoleAssignment {
            principal: principal.to_ascii_lowercase(),
            role,
            scope: RoleScope::Hub(hub.to_owned()),
            conditional: false,
            name: None,
        }
    }

    fn key(&self) -> (&str, &DataRole, &RoleScope, bool) {
        (&self.principal, &self.role, &self.scope, self.conditional)
    }

    /// A Data Sender or Receiver grant on one hub without a condition: the
    /// only kind topicform creates or deletes.
    pub fn is_manageable(&self) -> bool {
        matches!(self.role, DataRole::Sender | DataRole::Receiver)
            && matches!(self.scope, RoleScope::Hub(_))
            && !self.conditional
    }
}

impl PartialEq for RoleAssignment {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for RoleAssignment {}
impl PartialOrd for RoleAssignment {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for RoleAssignment {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}
impl Hash for RoleAssignment {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl fmt::Display for RoleAssignment {
    /// `Azure Event Hubs Data Sender for 3f2a… on event hub orders.placed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} for {} on ", self.role, self.principal)?;
        match &self.scope {
            RoleScope::Hub(hub) => write!(f, "event hub {hub}")?,
            RoleScope::InsideHub(id) | RoleScope::Above(id) => f.write_str(id)?,
            RoleScope::Namespace => f.write_str("the whole namespace")?,
        }
        if self.conditional {
            f.write_str(" (with a condition)")?;
        }
        Ok(())
    }
}

/// Every role assignment the services need, each with the service it is
/// for (the first, when two share a principal). `topics`: the
/// environment's desired topics, over which `produces:` prefixes expand.
pub fn desired_roles(services: &[ResolvedService], topics: &[&str]) -> BTreeMap<RoleAssignment, String> {
    let mut out = BTreeMap::new();
    for s in services {
        let mut grant = |role: DataRole, hub: &str| {
            out.entry(RoleAssignment::on_hub(&s.principal, role, hub)).or_insert_with(|| s.name.clone());
        };
        for entry in &s.produces {
            match entry.strip_suffix('*') {
                Some(prefix) => {
                    topics.iter().filter(|t| t.starts_with(prefix)).for_each(|t| grant(DataRole::Sender, t))
                }
                None => grant(DataRole::Sender, entry),
            }
        }
        for topic in &s.consumes {
            grant(DataRole::Receiver, topic);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(principal: &str, produces: &[&str], consumes: &[&str]) -> ResolvedService {
        ResolvedService {
            name: "order-service".into(),
            principal: principal.into(),
            group: "orders".into(),
            produces: produces.iter().map(|s| s.to_string()).collect(),
            consumes: consumes.iter().map(|s| s.to_string()).collect(),
            password: None,
            unset_vars: Vec::new(),
        }
    }

    #[test]
    fn a_producer_sends_to_each_hub_its_prefix_matches_and_a_consumer_receives() {
        let id = "3F2A0C5E-0000-4000-8000-00000000000A";
        let roles: Vec<String> = desired_roles(
            &[service(id, &["orders.*", "audit.log"], &["payments.done"])],
            &["orders.placed", "orders.cancelled", "payments.done", "audit.log"],
        )
        .keys()
        .map(RoleAssignment::to_string)
        .collect();
        let id = id.to_ascii_lowercase();
        assert_eq!(
            roles,
            [
                format!("Azure Event Hubs Data Sender for {id} on event hub audit.log"),
                format!("Azure Event Hubs Data Sender for {id} on event hub orders.cancelled"),
                format!("Azure Event Hubs Data Sender for {id} on event hub orders.placed"),
                format!("Azure Event Hubs Data Receiver for {id} on event hub payments.done"),
            ]
        );
    }

    #[test]
    fn an_assignment_is_the_same_whatever_azure_named_it() {
        let ours = RoleAssignment::on_hub("ab", DataRole::Sender, "orders");
        let theirs =
            RoleAssignment { name: Some("0b5c…".into()), ..RoleAssignment::on_hub("AB", DataRole::Sender, "orders") };
        assert_eq!(ours, theirs);
        let conditional = RoleAssignment { conditional: true, ..ours.clone() };
        assert_ne!(ours, conditional);
        assert!(!conditional.is_manageable());
    }

    #[test]
    fn roles_are_known_by_the_guid_at_the_end_of_any_definition_id() {
        let sub = format!(
            "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/{}",
            DATA_SENDER.to_uppercase()
        );
        assert_eq!(DataRole::of_definition(&sub), DataRole::Sender);
        assert_eq!(
            DataRole::of_definition(&format!("/providers/Microsoft.Authorization/roleDefinitions/{DATA_RECEIVER}")),
            DataRole::Receiver
        );
        let owner = DataRole::of_definition("f526a384-b230-433a-b45c-95f59c4a2dec");
        assert_eq!(owner.to_string(), "role f526a384-b230-433a-b45c-95f59c4a2dec");
    }
}
