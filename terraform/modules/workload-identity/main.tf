locals {
  audience       = "api://AzureADTokenExchange"
  namespace_name = regex("/namespaces/([^/]+)$", var.eventhubs_namespace_id)[0]
  # Custom roles are assignable at management group, subscription or resource
  # group scope, not at a single resource: the role is defined on the
  # namespace's resource group and assigned on the namespace only.
  resource_group_id = regex("^(/subscriptions/[^/]+/resourceGroups/[^/]+)/", var.eventhubs_namespace_id)[0]

  # What topicform does through Azure Resource Manager: read the namespace
  # (tier, limits) and create, update and delete its event hubs. Nothing else:
  # no authorization rules, no keys, no consumer groups, no namespace changes.
  topicform_actions = [
    "Microsoft.EventHub/namespaces/read",
    "Microsoft.EventHub/namespaces/eventhubs/read",
    "Microsoft.EventHub/namespaces/eventhubs/write",
    "Microsoft.EventHub/namespaces/eventhubs/delete",
  ]

  # With topicform.manage_data_roles: topicform grants each service Azure Event
  # Hubs Data Sender / Receiver on single event hubs (`services:` in the spec).
  # Its second custom role holds only these actions; the condition below limits
  # what they may do.
  data_role_actions = [
    "Microsoft.Authorization/roleAssignments/read",
    "Microsoft.Authorization/roleAssignments/write",
    "Microsoft.Authorization/roleAssignments/delete",
  ]

  # Microsoft's "Constrain roles and principal types" condition: topicform may
  # create (write, @Request) and delete (@Resource) only assignments of Azure
  # Event Hubs Data Sender (2b629674-...) and Data Receiver (a638d3c7-...) to
  # service principals, never Owner, User Access Administrator or a grant to a
  # user or group. A condition has no scope attribute, so it cannot keep those
  # grants off the namespace itself or its consumer groups: topicform keeps to
  # event hub scope itself. Changing this text replaces the assignment
  # (condition is ForceNew).
  data_role_condition = "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {2b629674-e913-4c01-ae53-ef4638d8f975, a638d3c7-ab3a-418d-83e6-5f17a39d4fde} AND @Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {'ServicePrincipal'})) AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {2b629674-e913-4c01-ae53-ef4638d8f975, a638d3c7-ab3a-418d-83e6-5f17a39d4fde} AND @Resource[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {'ServicePrincipal'}))"
  manage_data_roles   = var.topicform.enabled && var.topicform.manage_data_roles

  # Every identity: key => { name, service account }.
  identities = merge(
    var.topicform.enabled ? { topicform = { name = "${var.identity_name_prefix}topicform", service_account = var.topicform.service_account_name } } : {},
    { for k, v in var.services : "service/${k}" => { name = "${var.identity_name_prefix}${k}", service_account = coalesce(v.service_account_name, k) } },
  )

  # Namespace-wide data roles. A service with neither send nor listen gets
  # none: its rights come from topicform's per-event-hub grants.
  data_plane_assignments = merge(
    { for r in(var.topicform.enabled ? var.topicform.data_plane_roles : []) : "topicform/${r}" => { identity = "topicform", role = r } },
    { for k, v in var.services : "service/${k}/sender" => { identity = "service/${k}", role = "Azure Event Hubs Data Sender" } if v.send },
    { for k, v in var.services : "service/${k}/receiver" => { identity = "service/${k}", role = "Azure Event Hubs Data Receiver" } if v.listen },
  )
}

resource "azurerm_user_assigned_identity" "this" {
  for_each = local.identities

  name                = each.value.name
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

# The Kubernetes service account `system:serviceaccount:<namespace>:<name>` may
# exchange its projected token for this identity's Entra ID token. The
# credential's name allows letters, digits, '-' and '_' only: a '.' of the
# service account's name becomes '-' there (the subject keeps the real name).
resource "azurerm_federated_identity_credential" "this" {
  for_each = local.identities

  name                      = substr(replace("k8s-${var.kubernetes_namespace}-${each.value.service_account}", ".", "-"), 0, 120)
  user_assigned_identity_id = azurerm_user_assigned_identity.this[each.key].id
  issuer                    = var.oidc_issuer_url
  audience                  = [local.audience]
  subject                   = "system:serviceaccount:${var.kubernetes_namespace}:${each.value.service_account}"
}

# Least privilege for topicform: manage the event hubs of this one namespace
# (the role's actions are limited to event hubs; its one assignment is on the
# namespace).
resource "azurerm_role_definition" "topicform" {
  count = var.topicform.enabled ? 1 : 0

  name              = coalesce(var.topicform.role_name, "topicform topics on ${local.namespace_name}")
  scope             = local.resource_group_id
  description       = "topicform: read the Event Hubs namespace and create, update and delete its event hubs (topics). Nothing else."
  assignable_scopes = [local.resource_group_id]

  permissions {
    actions     = local.topicform_actions
    not_actions = []
  }
}

resource "azurerm_role_assignment" "topicform" {
  count = var.topicform.enabled ? 1 : 0

  scope              = var.eventhubs_namespace_id
  role_definition_id = azurerm_role_definition.topicform[0].role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.this["topicform"].principal_id
  principal_type     = "ServicePrincipal"
  description        = "topicform manages the event hubs (topics) of this namespace."
}

# Only with topicform.manage_data_roles: a second custom role, so the condition
# sits on every assignment that gives topicform roleAssignments/write and
# delete (the assignment of azurerm_role_definition.topicform has none, so these
# actions never go there).
resource "azurerm_role_definition" "topicform_data_roles" {
  count = local.manage_data_roles ? 1 : 0

  name              = "topicform data roles on ${local.namespace_name}"
  scope             = local.resource_group_id
  description       = "topicform: read, create and delete role assignments; its assignment's condition allows only Azure Event Hubs Data Sender and Data Receiver for service principals."
  assignable_scopes = [local.resource_group_id]

  permissions {
    actions     = local.data_role_actions
    not_actions = []
  }
}

resource "azurerm_role_assignment" "topicform_data_roles" {
  count = local.manage_data_roles ? 1 : 0

  scope              = var.eventhubs_namespace_id
  role_definition_id = azurerm_role_definition.topicform_data_roles[0].role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.this["topicform"].principal_id
  principal_type     = "ServicePrincipal"
  condition          = local.data_role_condition
  condition_version  = "2.0"
  description        = "topicform grants Azure Event Hubs Data Sender / Receiver to services on the event hubs of this namespace."
}

# Data plane (Kafka endpoint with OAUTHBEARER): Sender / Receiver per service
# on the whole namespace, for services with send / listen.
resource "azurerm_role_assignment" "data_plane" {
  for_each = local.data_plane_assignments

  scope                = var.eventhubs_namespace_id
  role_definition_name = each.value.role
  principal_id         = azurerm_user_assigned_identity.this[each.value.identity].principal_id
  principal_type       = "ServicePrincipal"
}
