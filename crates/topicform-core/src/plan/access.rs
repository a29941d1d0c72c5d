//! The access part of a plan: the ACLs the services need against the ACLs
//! the cluster has.
//!
//! Which ACLs topicform manages: the ALLOW ACLs of the principals the
//! environment's services name. Kafka ACLs carry no owner, so the principal
//! is the owner: every other principal's ACL, and every DENY (deleting one
//! would widen access), is reported and never touched. A managed ACL the
//! spec no longer asks for (a removed `produces:` entry) is deleted only
//! with two opt-ins, as a topic is: `pruneAcls: true` on the environment
//! and `--allow-delete`. Not `prune:`: on a shared cluster that one would
//! also delete every topic the spec does not name.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::Action;
use crate::access::{desired_acls, Acl, Permission, ResolvedService};

/// What happens to each ACL of the environment's services.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPlan {
    /// Counts by action.
    pub summary: AccessSummary,
    /// Managed ACLs: created, deleted or in place.
    pub acls: Vec<AclPlan>,
    /// ACLs on the cluster left alone, each with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmanaged: Vec<UnmanagedAcl>,
}

/// One managed ACL and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AclPlan {
    /// The service it is for; absent for one the spec no longer asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// `create`, `delete` or `unchanged`.
    pub action: Action,
    pub acl: Acl,
}

/// An ACL on the cluster that this plan leaves alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnmanagedAcl {
    pub acl: Acl,
    pub why: Unmanaged,
}

/// Why an ACL is left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Unmanaged {
    /// Its principal is no service's in this environment.
    OtherPrincipal,
    /// A DENY (or a permission this version does not know): removing it
    /// could only widen access.
    Deny,
    /// A service's principal has it but the spec does not ask for it;
    /// `pruneAcls: true` and `--allow-delete` delete it.
    NotInSpec,
}

/// Counts by action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessSummary {
    pub create: usize,
    pub delete: usize,
    pub unchanged: usize,
    pub unmanaged: usize,
}

impl AccessPlan {
    /// True when applying would create or delete an ACL.
    pub fn has_changes(&self) -> bool {
        self.summary.create + self.summary.delete > 0
    }

    /// The ACLs to create, in order.
    pub fn creates(&self) -> impl Iterator<Item = &Acl> {
        self.acls.iter().filter(|a| a.action == Action::Create).map(|a| &a.acl)
    }

    /// The ACLs to delete, in order.
    pub fn deletes(&self) -> impl Iterator<Item = &Acl> {
        self.acls.iter().filter(|a| a.action == Action::Delete).map(|a| &a.acl)
    }
}

/// Plans the ACLs of `services` against `observed` (every ACL the cluster
/// has). `may_delete`: the environment's `pruneAcls` and `--allow-delete`
/// both.
pub fn plan_access(services: &[ResolvedService], observed: &[Acl], may_delete: bool) -> AccessPlan {
    let desired = desired_acls(services);
    let principals: BTreeSet<&str> = services.iter().map(|s| s.principal.as_str()).collect();
    let present: BTreeSet<&Acl> = observed.iter().collect();
    let mut acls: Vec<AclPlan> = desired
        .iter()
        .map(|(acl, service)| AclPlan {
            service: Some(service.clone()),
            action: if present.contains(acl) { Action::Unchanged } else { Action::Create },
            acl: acl.clone(),
        })
        .collect();
    let mut unmanaged = Vec::new();
    for acl in present.into_iter().filter(|a| !desired.contains_key(*a)) {
        let why = if !principals.contains(acl.principal.as_str()) {
            Unmanaged::OtherPrincipal
        } else if acl.permission != Permission::Allow {
            Unmanaged::Deny
        } else if may_delete {
            acls.push(AclPlan { service: None, action: Action::Delete, acl: acl.clone() });
            continue;
        } else {
            Unmanaged::NotInSpec
        };
        unmanaged.push(UnmanagedAcl { acl: acl.clone(), why });
    }
    let count = |action| acls.iter().filter(|a| a.action == action).count();
    let summary = AccessSummary {
        create: count(Action::Create),
        delete: count(Action::Delete),
        unchanged: count(Action::Unchanged),
        unmanaged: unmanaged.len(),
    };
    AccessPlan { summary, acls, unmanaged }
}

/// Plan-wide notes about the ACLs left alone.
pub(super) fn notes(plan: &AccessPlan, env_name: &str, prune_acls: bool) -> Vec<String> {
    let mut by_why: BTreeMap<&str, usize> = BTreeMap::new();
    for u in &plan.unmanaged {
        let key = match u.why {
            Unmanaged::NotInSpec => "stale",
            Unmanaged::OtherPrincipal | Unmanaged::Deny => "foreign",
        };
        *by_why.entry(key).or_default() += 1;
    }
    let mut notes = Vec::new();
    if let Some(n) = by_why.get("stale") {
        notes.push(if prune_acls {
            format!("{n} ACL(s) of the services' principals are not in the spec and left alone; apply --allow-delete deletes them (environment `{env_name}` has pruneAcls: true)")
        } else {
            format!("{n} ACL(s) of the services' principals are not in the spec and left alone (set `pruneAcls: true` on the environment and pass --allow-delete to delete them)")
        });
    }
    if let Some(n) = by_why.get("foreign") {
        notes.push(format!("{n} ACL(s) of other principals, or DENY ACLs, are never changed by topicform"));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Operation, PatternType, ResourceType};

    fn orders() -> ResolvedService {
        ResolvedService {
            name: "order-service".into(),
            principal: "User:orders".into(),
            group: "order-service".into(),
            produces: vec!["orders.placed".into()],
            consumes: vec![],
            password: None,
        }
    }

    fn topic_acl(principal: &str, operation: Operation, topic: &str) -> Acl {
        Acl::allow(principal, operation, (ResourceType::Topic, PatternType::Literal, topic))
    }

    #[test]
    fn missing_acls_are_created_and_present_ones_unchanged() {
        let observed = [topic_acl("User:orders", Operation::Write, "orders.placed")];
        let plan = plan_access(&[orders()], &observed, false);
        assert_eq!(plan.summary, AccessSummary { create: 1, delete: 0, unchanged: 1, unmanaged: 0 });
        assert_eq!(plan.creates().next().unwrap().operation, Operation::Describe);
    }

    #[test]
    fn a_stale_acl_of_a_service_is_deleted_only_with_the_opt_in() {
        let mut observed: Vec<Acl> = desired_acls(&[orders()]).into_keys().collect();
        let stale = topic_acl("User:orders", Operation::Write, "orders.cancelled");
        observed.push(stale.clone());

        let kept = plan_access(&[orders()], &observed, false);
        assert!(!kept.has_changes());
        assert_eq!(kept.unmanaged, [UnmanagedAcl { acl: stale.clone(), why: Unmanaged::NotInSpec }]);

        let pruned = plan_access(&[orders()], &observed, true);
        assert_eq!(pruned.deletes().collect::<Vec<_>>(), [&stale]);
        assert!(pruned.unmanaged.is_empty());
    }

    #[test]
    fn other_principals_and_denies_are_never_deleted() {
        let other = topic_acl("User:admin", Operation::All, "orders.placed");
        let deny = Acl { permission: Permission::Deny, ..topic_acl("User:orders", Operation::Read, "secrets") };
        let plan = plan_access(&[orders()], &[other.clone(), deny.clone()], true);
        assert_eq!(plan.deletes().count(), 0);
        let whys: Vec<_> = plan.unmanaged.iter().map(|u| (u.acl.clone(), u.why)).collect();
        assert!(whys.contains(&(other, Unmanaged::OtherPrincipal)));
        assert!(whys.contains(&(deny, Unmanaged::Deny)));
        assert_eq!(notes(&plan, "prod", true).len(), 1, "{:?}", notes(&plan, "prod", true));
    }
}
