//! Who may do what: the rights the spec's `services:` grant in one
//! environment, as Kafka ACLs ([`kafka`]) or as Azure role assignments on
//! event hubs ([`eventhubs`]), and the one [`Grant`] type the plan and the
//! apply engine handle either through. Pure.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

pub mod eventhubs;
pub mod kafka;

pub use eventhubs::{desired_roles, DataRole, RoleAssignment, RoleScope};
pub use kafka::{desired_acls, topic_pattern, Acl, Operation, PatternType, Permission, ResourceType, ANY_HOST};

/// A service with a principal in the environment being planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedService {
    pub name: String,
    /// `${VAR}` expanded (on Event Hubs, an object id in lowercase).
    pub principal: String,
    pub group: String,
    /// Topic names, or prefixes ending in `*`.
    pub produces: Vec<String>,
    pub consumes: Vec<String>,
    /// The SASL password of its own user here, if the spec names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<crate::spec::model::SecretRef>,
    /// Variables of the principal with neither a value nor a default; the
    /// principal then stays as written. Kept apart because the text cannot
    /// tell (`$${X}` expands to `${X}`). Validation refuses them wherever a
    /// grant needs the principal; `env --service` refuses them too.
    #[serde(skip)]
    pub unset_vars: Vec<String>,
}

/// One right on a cluster: serialized as `{"acl": …}` or `{"role": …}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Grant {
    Acl(Acl),
    Role(RoleAssignment),
}

impl Grant {
    /// Who holds it.
    pub fn principal(&self) -> &str {
        match self {
            Grant::Acl(acl) => &acl.principal,
            Grant::Role(role) => &role.principal,
        }
    }

    /// `ACL` or `role assignment`, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Grant::Acl(_) => ACL,
            Grant::Role(_) => ROLE_ASSIGNMENT,
        }
    }
}

const ACL: &str = "ACL";
const ROLE_ASSIGNMENT: &str = "role assignment";

/// What a grant is called on a cluster of this kind (`kafka` or
/// `eventhubs`, as [`crate::spec::model::Cluster::kind`] says).
pub fn grant_kind(cluster_kind: &str) -> &'static str {
    if cluster_kind == "eventhubs" {
        ROLE_ASSIGNMENT
    } else {
        ACL
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::Acl(acl) => acl.fmt(f),
            Grant::Role(role) => role.fmt(f),
        }
    }
}

/// What the services of one environment need: each grant with the service
/// it is for, and the principals whose grants topicform manages.
#[derive(Debug, Clone, Default)]
pub struct DesiredAccess {
    pub grants: BTreeMap<Grant, String>,
    pub principals: BTreeSet<String>,
}

/// The grants `services` need: ACLs on Kafka, role assignments on event
/// hubs (`topics` are the environment's, over which prefixes expand).
pub fn desired_access(services: &[ResolvedService], topics: &[&str], eventhubs: bool) -> DesiredAccess {
    let grants = if eventhubs {
        desired_roles(services, topics).into_iter().map(|(r, s)| (Grant::Role(r), s)).collect()
    } else {
        desired_acls(services).into_iter().map(|(a, s)| (Grant::Acl(a), s)).collect()
    };
    let principals = services
        .iter()
        .map(|s| if eventhubs { s.principal.to_ascii_lowercase() } else { s.principal.clone() })
        .collect();
    DesiredAccess { grants, principals }
}
