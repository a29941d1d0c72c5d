//! Role assignments through ARM (`Microsoft.Authorization/roleAssignments`,
//! api-version 2022-04-01): the services' data roles on event hubs.
//!
//! - Read: one list at the namespace scope without a filter, every page.
//!   Microsoft's sources disagree on what each filter includes, so each
//!   assignment is placed by comparing its `properties.scope` with the
//!   namespace id, case-insensitively ([`RoleScope`]).
//! - Grant: `PUT {hub}/providers/Microsoft.Authorization/roleAssignments/{name}`
//!   with a name derived from scope, role and principal ([`assignment_name`]),
//!   so a re-run writes the same assignment. Azure allows one assignment per
//!   scope, role and principal: `409 RoleAssignmentExists` means someone
//!   granted it under another name, which is the grant ([`Granted::Already`]).
//!   `principalType: ServicePrincipal` is always sent: it lets Azure accept
//!   an identity created moments ago, and the ABAC condition of the
//!   workload-identity module only allows that type.
//! - Revoke: `DELETE` of the assignment as read (its own name); gone already
//!   (204 or 404) is success.
//!
//! Contract: `tests/testdata/arm/reference/authorization/2022-04-01/`.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use topicform_core::access::{DataRole, RoleAssignment, RoleScope};
use uuid::Uuid;

use super::{arm_error, ArmClient};
use crate::{Error, Result};

/// The api-version of Microsoft.Authorization.
pub const AUTHORIZATION_API_VERSION: &str = "2022-04-01";

/// The UUID namespace of topicform's assignment names. Frozen: changing it
/// would give every grant a new name, and every re-run a conflict.
const NAMES: Uuid = Uuid::from_u128(0x698b2626_a792_4df9_a55a_8946702d3e9a);

/// What a grant's `PUT` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granted {
    /// Created (or rewritten unchanged) under topicform's name.
    Created,
    /// The same role for the same principal on the same hub already exists
    /// under another name (`409 RoleAssignmentExists`).
    Already,
}

/// The name of topicform's assignment of `role` to `principal` at `scope`:
/// a name-based UUID (v5) of the three, lowercased because ARM compares ids
/// case-insensitively. Names are unique across the tenant, hence the full
/// scope.
pub fn assignment_name(scope: &str, role: &DataRole, principal: &str) -> String {
    let key = format!("{}|{}|{}", scope.trim_end_matches('/'), role.guid(), principal).to_ascii_lowercase();
    Uuid::new_v5(&NAMES, key.as_bytes()).to_string()
}

/// What Azure needs to know about 403s here: the permission, and where the
/// Terraform module grants it.
const HELP_FORBIDDEN: &str = "granting data roles needs Microsoft.Authorization/roleAssignments/read, write and delete on the namespace, limited to Azure Event Hubs Data Sender and Data Receiver for service principals: set `topicform.manage_data_roles = true` in the workload-identity Terraform module (README, \"Least privilege\")";

impl ArmClient {
    fn hub_id(&self, hub: &str) -> String {
        format!("{}/eventhubs/{hub}", self.namespace_id())
    }

    fn assignment_url(&self, hub: &str, name: &str) -> reqwest::Url {
        let below = ["eventhubs", hub, "providers", "Microsoft.Authorization", "roleAssignments", name];
        self.url_at(&below, AUTHORIZATION_API_VERSION)
    }

    /// Every role assignment at, above and inside the namespace, placed
    /// relative to it; assignments elsewhere (none, if ARM keeps its word)
    /// are dropped.
    pub async fn list_role_assignments(&self) -> Result<Vec<RoleAssignment>> {
        let resource = format!("{}/providers/Microsoft.Authorization/roleAssignments", self.namespace_id());
        let url = self.url_at(&["providers", "Microsoft.Authorization", "roleAssignments"], AUTHORIZATION_API_VERSION);
        let items = self.list_all("listing role assignments", &resource, url).await.map_err(forbidden_help)?;
        Ok(items.iter().filter_map(|item| parse(item, &self.namespace_id())).collect())
    }

    /// Grants `grant` (a role on one hub) under topicform's name.
    pub async fn put_role_assignment(&self, grant: &RoleAssignment) -> Result<Granted> {
        let RoleScope::Hub(hub) = &grant.scope else {
            return Err(self.error(
                "granting a role",
                &grant.to_string(),
                None,
                "topicform grants at event hub scope only".into(),
                None,
            ));
        };
        let scope = self.hub_id(hub);
        let name = assignment_name(&scope, &grant.role, &grant.principal);
        let subscription = &self.namespace[1];
        let body = json!({ "properties": {
            "roleDefinitionId": format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{}", grant.role.guid()),
            "principalId": grant.principal,
            "principalType": "ServicePrincipal",
            "description": "managed by topicform (services: in the spec)",
        }});
        let resource = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}");
        let url = self.assignment_url(hub, &name);
        let reply = self
            .call_accepting("granting a role", &resource, Method::PUT, url, Some(&body), &[StatusCode::CONFLICT])
            .await
            .map_err(forbidden_help)?;
        if reply.status != StatusCode::CONFLICT {
            return Ok(Granted::Created);
        }
        match arm_error(&reply.body) {
            (Some(code), _) if code == "RoleAssignmentExists" => Ok(Granted::Already),
            (code, message) => Err(self.error(
                "granting a role",
                &resource,
                Some(reply.status),
                super::describe(code.as_deref(), message.as_deref()).unwrap_or_else(|| "no error body".into()),
                super::request_id(&reply.headers),
            )),
        }
    }

    /// Deletes `grant`, as read from Azure (its name is Azure's).
    pub async fn delete_role_assignment(&self, grant: &RoleAssignment) -> Result<()> {
        let (RoleScope::Hub(hub), Some(name)) = (&grant.scope, &grant.name) else {
            return Err(self.error(
                "revoking a role",
                &grant.to_string(),
                None,
                "only an assignment read from one event hub can be revoked".into(),
                None,
            ));
        };
        let resource = format!("{}/providers/Microsoft.Authorization/roleAssignments/{name}", self.hub_id(hub));
        self.call("revoking a role", &resource, Method::DELETE, self.assignment_url(hub, name), None)
            .await
            .map_err(forbidden_help)?;
        Ok(())
    }
}

/// A 403 here names the permission and where to get it.
fn forbidden_help(e: Error) -> Error {
    match e {
        Error::Arm { operation, resource, detail, .. } if detail.starts_with("HTTP 403") => {
            Error::Arm { operation, resource, detail, help: HELP_FORBIDDEN.to_owned() }
        }
        other => other,
    }
}

/// One assignment of an ARM list, placed relative to `namespace_id`.
fn parse(item: &Value, namespace_id: &str) -> Option<RoleAssignment> {
    let p = &item["properties"];
    let scope = p["scope"].as_str()?;
    let (lower_scope, lower_ns) = (scope.to_ascii_lowercase(), namespace_id.to_ascii_lowercase());
    let hubs_prefix = format!("{lower_ns}/eventhubs/");
    let scope = if lower_scope == lower_ns {
        RoleScope::Namespace
    } else if let Some(rest) = lower_scope.strip_prefix(&hubs_prefix) {
        let hub = &scope[hubs_prefix.len()..hubs_prefix.len() + rest.split('/').next()?.len()];
        if rest.contains('/') {
            RoleScope::InsideHub(scope.to_owned())
        } else {
            RoleScope::Hub(hub.to_owned())
        }
    } else if lower_scope == "/" || lower_ns.starts_with(&format!("{lower_scope}/")) {
        RoleScope::Above(scope.to_owned())
    } else {
        return None;
    };
    Some(RoleAssignment {
        principal: p["principalId"].as_str()?.to_ascii_lowercase(),
        role: DataRole::of_definition(p["roleDefinitionId"].as_str()?),
        scope,
        conditional: p["condition"].as_str().is_some_and(|c| !c.trim().is_empty()),
        name: item["name"].as_str().map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns";

    fn item(scope: &str, condition: Option<&str>) -> Value {
        json!({ "name": "n1", "properties": {
            "scope": scope,
            "principalId": "AB12",
            "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/2b629674-e913-4c01-ae53-ef4638d8f975",
            "condition": condition,
        }})
    }

    #[test]
    fn assignments_are_placed_by_their_scope_whatever_its_case() {
        let lower = NS.to_ascii_lowercase();
        let hub = parse(&item(&format!("{lower}/eventhubs/Orders.Placed"), None), NS).unwrap();
        assert_eq!(hub.scope, RoleScope::Hub("Orders.Placed".into()));
        assert_eq!((hub.principal.as_str(), &hub.role, hub.name.as_deref()), ("ab12", &DataRole::Sender, Some("n1")));
        let group = format!("{NS}/eventhubs/orders/consumergroups/g");
        assert_eq!(parse(&item(&group, None), NS).unwrap().scope, RoleScope::InsideHub(group));
        assert_eq!(parse(&item(&lower, None), NS).unwrap().scope, RoleScope::Namespace);
        assert!(matches!(parse(&item("/subscriptions/S1", None), NS).unwrap().scope, RoleScope::Above(_)));
        assert!(parse(
            &item("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns2", None),
            NS
        )
        .is_none());
        assert!(parse(&item(NS, Some("@Resource[x] StringEquals 'y'")), NS).unwrap().conditional);
    }

    #[test]
    fn names_are_stable_guids_of_scope_role_and_principal() {
        let scope = format!("{NS}/eventhubs/orders");
        let name = assignment_name(&scope, &DataRole::Sender, "0a3c5e7f-1111-4222-8333-444455556666");
        assert_eq!(
            name,
            assignment_name(&scope.to_uppercase(), &DataRole::Sender, "0A3C5E7F-1111-4222-8333-444455556666")
        );
        assert_ne!(name, assignment_name(&scope, &DataRole::Receiver, "0a3c5e7f-1111-4222-8333-444455556666"));
        // Pinned: a different value would rename every grant on every cluster.
        assert_eq!(name, GOLDEN);
    }

    // Python: uuid.uuid5(UUID("698b2626-a792-4df9-a55a-8946702d3e9a"), "<scope>|<role>|<principal>".lower())
    const GOLDEN: &str = "a7d72e05-d504-5f84-9ce7-d365b211b8cb";
}
