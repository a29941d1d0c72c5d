//! The access part of a plan: the grants the services need (Kafka ACLs, or
//! Event Hubs role assignments) against the ones the cluster has.
//!
//! Which grants topicform manages: the ALLOW ACLs, or the unconditional
//! Data Sender / Data Receiver assignments on one event hub, of the
//! principals the environment's services name. Neither ACLs nor role
//! assignments carry an owner, so the principal is the owner: every other
//! principal's grant, every DENY (deleting one would widen access), every
//! other role, scope or conditional assignment is reported and never
//! touched. A managed grant the spec no longer asks for (a removed
//! `produces:` entry) is deleted only with two opt-ins, as a topic is:
//! `pruneAcls: true` on the environment and `--allow-delete`. Not `prune:`:
//! on a shared cluster that one would also delete every topic the spec does
//! not name.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::Action;
use crate::access::{DataRole, DesiredAccess, Grant, Permission, RoleScope};

/// What happens to each grant of the environment's services.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPlan {
    /// Counts by action.
    pub summary: AccessSummary,
    /// Managed grants: created, deleted or in place.
    pub grants: Vec<GrantPlan>,
    /// Grants on the cluster left alone, each with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmanaged: Vec<UnmanagedGrant>,
}

/// One managed grant and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantPlan {
    /// The service it is for; absent for one the spec no longer asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// `create`, `delete` or `unchanged`.
    pub action: Action,
    /// `acl: {…}` or `role: {…}`.
    #[serde(flatten)]
    pub grant: Grant,
}

/// A grant on the cluster that this plan leaves alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnmanagedGrant {
    #[serde(flatten)]
    pub grant: Grant,
    pub why: Unmanaged,
}

/// Why a grant is left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Unmanaged {
    /// Its principal is no service's in this environment.
    OtherPrincipal,
    /// A DENY (or a permission this version does not know): removing it
    /// could only widen access.
    Deny,
    /// A role other than Data Sender and Data Receiver (Data Owner, a
    /// custom role).
    OtherRole,
    /// A role assignment on the namespace or above (it covers every hub),
    /// or inside one hub.
    NotOnHub,
    /// A role assignment narrowed by an ABAC condition.
    Conditional,
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
    /// True when applying would create or delete a grant.
    pub fn has_changes(&self) -> bool {
        self.summary.create + self.summary.delete > 0
    }

    /// The grants to create, in order.
    pub fn creates(&self) -> impl Iterator<Item = &Grant> {
        self.grants.iter().filter(|a| a.action == Action::Create).map(|a| &a.grant)
    }

    /// The grants to delete, in order.
    pub fn deletes(&self) -> impl Iterator<Item = &Grant> {
        self.grants.iter().filter(|a| a.action == Action::Delete).map(|a| &a.grant)
    }
}

/// Why `grant`, held by a service's principal, can never be topicform's.
fn never_managed(grant: &Grant) -> Option<Unmanaged> {
    match grant {
        Grant::Acl(acl) => (acl.permission != Permission::Allow).then_some(Unmanaged::Deny),
        Grant::Role(role) if matches!(role.role, DataRole::Other(_)) => Some(Unmanaged::OtherRole),
        Grant::Role(role) if !matches!(role.scope, RoleScope::Hub(_)) => Some(Unmanaged::NotOnHub),
        Grant::Role(role) => role.conditional.then_some(Unmanaged::Conditional),
    }
}

/// An assignment of another principal above the namespace (a subscription
/// owner, say): not this environment's business, so not even reported.
fn out_of_sight(grant: &Grant, principals: &BTreeSet<String>) -> bool {
    matches!(grant, Grant::Role(r) if matches!(r.scope, RoleScope::Above(_)) && !principals.contains(&r.principal))
}

/// Plans `desired` against `observed` (every grant the cluster reports).
/// `may_delete`: the environment's `pruneAcls` and `--allow-delete` both.
pub fn plan_access(desired: &DesiredAccess, observed: &[Grant], may_delete: bool) -> AccessPlan {
    let present: BTreeSet<&Grant> = observed.iter().collect();
    let mut grants: Vec<GrantPlan> = desired
        .grants
        .iter()
        .map(|(grant, service)| GrantPlan {
            service: Some(service.clone()),
            action: if present.contains(grant) { Action::Unchanged } else { Action::Create },
            grant: grant.clone(),
        })
        .collect();
    let mut unmanaged = Vec::new();
    for grant in present.into_iter().filter(|g| !desired.grants.contains_key(*g)) {
        if out_of_sight(grant, &desired.principals) {
            continue;
        }
        let why = if !desired.principals.contains(grant.principal()) {
            Unmanaged::OtherPrincipal
        } else if let Some(why) = never_managed(grant) {
            why
        } else if may_delete {
            grants.push(GrantPlan { service: None, action: Action::Delete, grant: grant.clone() });
            continue;
        } else {
            Unmanaged::NotInSpec
        };
        unmanaged.push(UnmanagedGrant { grant: grant.clone(), why });
    }
    let count = |action| grants.iter().filter(|a| a.action == action).count();
    let summary = AccessSummary {
        create: count(Action::Create),
        delete: count(Action::Delete),
        unchanged: count(Action::Unchanged),
        unmanaged: unmanaged.len(),
    };
    AccessPlan { summary, grants, unmanaged }
}

/// Plan-wide notes about the grants left alone. `kind`: `ACL` or `role
/// assignment`.
pub(super) fn notes(plan: &AccessPlan, env_name: &str, prune_acls: bool, kind: &str) -> Vec<String> {
    let mut by_why: BTreeMap<&str, usize> = BTreeMap::new();
    for u in &plan.unmanaged {
        let key = match u.why {
            Unmanaged::NotInSpec => "stale",
            // OtherRole is decided first, so these are Sender or Receiver.
            Unmanaged::NotOnHub if matches!(&u.grant, Grant::Role(r) if !matches!(r.scope, RoleScope::InsideHub(_))) => {
                "wide"
            }
            _ => "foreign",
        };
        *by_why.entry(key).or_default() += 1;
    }
    let mut notes = Vec::new();
    if let Some(n) = by_why.get("stale") {
        notes.push(if prune_acls {
            format!("{n} {kind}(s) of the services' principals are not in the spec and left alone; apply --allow-delete deletes them (environment `{env_name}` has pruneAcls: true)")
        } else {
            format!("{n} {kind}(s) of the services' principals are not in the spec and left alone (set `pruneAcls: true` on the environment and pass --allow-delete to delete them)")
        });
    }
    if let Some(n) = by_why.get("wide") {
        notes.push(format!("warning: {n} Data Sender/Receiver assignment(s) of the services' principals cover the whole namespace or more, so the per-event-hub grants do not narrow what those services may do; remove them (in the workload-identity module: send = false, listen = false)"));
    }
    if let Some(n) = by_why.get("foreign") {
        notes.push(match kind {
            "ACL" => format!("{n} ACL(s) of other principals, or DENY ACLs, are never changed by topicform"),
            _ => format!("{n} role assignment(s) of other principals, other roles, scopes or with conditions are never changed by topicform"),
        });
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{desired_access, Acl, Operation, PatternType, ResolvedService, ResourceType, RoleAssignment};

    fn orders(principal: &str) -> ResolvedService {
        ResolvedService {
            name: "order-service".into(),
            principal: principal.into(),
            group: "order-service".into(),
            produces: vec!["orders.placed".into()],
            consumes: vec![],
            password: None,
            unset_vars: Vec::new(),
        }
    }

    fn kafka() -> DesiredAccess {
        desired_access(&[orders("User:orders")], &[], false)
    }

    fn topic_acl(principal: &str, operation: Operation, topic: &str) -> Grant {
        Grant::Acl(Acl::allow(principal, operation, (ResourceType::Topic, PatternType::Literal, topic)))
    }

    #[test]
    fn missing_acls_are_created_and_present_ones_unchanged() {
        let observed = [topic_acl("User:orders", Operation::Write, "orders.placed")];
        let plan = plan_access(&kafka(), &observed, false);
        assert_eq!(plan.summary, AccessSummary { create: 1, delete: 0, unchanged: 1, unmanaged: 0 });
        assert_eq!(plan.creates().next().unwrap(), &topic_acl("User:orders", Operation::Describe, "orders.placed"));
    }

    #[test]
    fn a_stale_acl_of_a_service_is_deleted_only_with_the_opt_in() {
        let mut observed: Vec<Grant> = kafka().grants.into_keys().collect();
        let stale = topic_acl("User:orders", Operation::Write, "orders.cancelled");
        observed.push(stale.clone());

        let kept = plan_access(&kafka(), &observed, false);
        assert!(!kept.has_changes());
        assert_eq!(kept.unmanaged, [UnmanagedGrant { grant: stale.clone(), why: Unmanaged::NotInSpec }]);

        let pruned = plan_access(&kafka(), &observed, true);
        assert_eq!(pruned.deletes().collect::<Vec<_>>(), [&stale]);
        assert!(pruned.unmanaged.is_empty());
    }

    #[test]
    fn other_principals_and_denies_are_never_deleted() {
        let other = topic_acl("User:admin", Operation::All, "orders.placed");
        let Grant::Acl(read) = topic_acl("User:orders", Operation::Read, "secrets") else { unreachable!() };
        let deny = Grant::Acl(Acl { permission: Permission::Deny, ..read });
        let plan = plan_access(&kafka(), &[other.clone(), deny.clone()], true);
        assert_eq!(plan.deletes().count(), 0);
        let whys: Vec<_> = plan.unmanaged.iter().map(|u| (u.grant.clone(), u.why)).collect();
        assert!(whys.contains(&(other, Unmanaged::OtherPrincipal)));
        assert!(whys.contains(&(deny, Unmanaged::Deny)));
        assert_eq!(notes(&plan, "prod", true, "ACL").len(), 1, "{:?}", notes(&plan, "prod", true, "ACL"));
    }

    const ID: &str = "0a3c5e7f-1111-4222-8333-444455556666";

    fn role(role: DataRole, scope: RoleScope) -> Grant {
        Grant::Role(RoleAssignment { scope, ..RoleAssignment::on_hub(ID, role, "") })
    }

    #[test]
    fn an_event_hubs_service_gets_data_sender_on_each_hub_it_produces_and_adopts_one_made_by_hand() {
        let desired = desired_access(&[orders(&ID.to_uppercase())], &["orders.placed"], true);
        let by_hand = Grant::Role(RoleAssignment {
            name: Some("made-by-hand".into()),
            ..RoleAssignment::on_hub(ID, DataRole::Sender, "orders.placed")
        });
        let plan = plan_access(&desired, std::slice::from_ref(&by_hand), true);
        assert_eq!(plan.summary, AccessSummary { create: 0, delete: 0, unchanged: 1, unmanaged: 0 });
        assert_eq!(plan_access(&desired, &[], false).creates().collect::<Vec<_>>(), [&by_hand]);
    }

    #[test]
    fn wider_narrower_conditional_and_other_roles_are_never_deleted() {
        let desired = desired_access(&[orders(ID)], &["orders.placed"], true);
        let namespace = role(DataRole::Sender, RoleScope::Namespace);
        let group = role(DataRole::Receiver, RoleScope::InsideHub("…/consumergroups/g".into()));
        let owner = role(
            DataRole::Other("f526a384-b230-433a-b45c-95f59c4a2dec".into()),
            RoleScope::Hub("orders.placed".into()),
        );
        let Grant::Role(receiver) = role(DataRole::Receiver, RoleScope::Hub("orders.placed".into())) else {
            unreachable!()
        };
        let conditional = Grant::Role(RoleAssignment { conditional: true, ..receiver });
        let stale = role(DataRole::Receiver, RoleScope::Hub("payments".into()));
        let subscription_owner = Grant::Role(RoleAssignment {
            principal: "someone-else".into(),
            ..RoleAssignment {
                scope: RoleScope::Above("/subscriptions/s".into()),
                ..RoleAssignment::on_hub(ID, DataRole::Sender, "")
            }
        });
        let observed =
            [namespace.clone(), group.clone(), owner.clone(), conditional.clone(), stale.clone(), subscription_owner];
        let plan = plan_access(&desired, &observed, true);
        assert_eq!(plan.deletes().collect::<Vec<_>>(), [&stale]);
        let whys: Vec<_> = plan.unmanaged.iter().map(|u| (u.grant.clone(), u.why)).collect();
        assert_eq!(whys.len(), 4, "the subscription owner is out of sight: {whys:?}");
        assert!(whys.contains(&(namespace, Unmanaged::NotOnHub)));
        assert!(whys.contains(&(group, Unmanaged::NotOnHub)));
        assert!(whys.contains(&(owner, Unmanaged::OtherRole)));
        assert!(whys.contains(&(conditional, Unmanaged::Conditional)));
        let notes = notes(&plan, "prod", true, "role assignment");
        assert!(notes.iter().any(|n| n.starts_with("warning: 1 Data Sender/Receiver assignment(s)")), "{notes:?}");
    }
}
