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

  # Every identity: key => { name, service account }.
  identities = merge(
    var.topicform.enabled ? { topicform = { name = "${var.identity_name_prefix}topicform", service_account = var.topicform.service_account_name } } : {},
    { for k, v in var.services : "service/${k}" => { name = "${var.identity_name_prefix}${k}", service_account = coalesce(v.service_account_name, k) } },
  )

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

# Data plane (Kafka endpoint with OAUTHBEARER): Sender / Receiver per service.
resource "azurerm_role_assignment" "data_plane" {
  for_each = local.data_plane_assignments

  scope                = var.eventhubs_namespace_id
  role_definition_name = each.value.role
  principal_id         = azurerm_user_assigned_identity.this[each.value.identity].principal_id
  principal_type       = "ServicePrincipal"
}
