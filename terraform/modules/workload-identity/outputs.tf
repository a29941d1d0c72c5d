output "topicform_client_id" {
  description = "Client id of topicform's identity (the platform chart's `broker.management.workloadIdentity.clientId`); null when `topicform.enabled` is false."
  value       = var.topicform.enabled ? azurerm_user_assigned_identity.this["topicform"].client_id : null
}

output "topicform_principal_id" {
  description = "Principal (object) id of topicform's identity; null when `topicform.enabled` is false."
  value       = var.topicform.enabled ? azurerm_user_assigned_identity.this["topicform"].principal_id : null
}

output "service_client_ids" {
  description = "Client id of each service's identity, keyed by service name (the platform chart's `services[].workloadIdentity.clientId`)."
  value       = { for k, v in var.services : k => azurerm_user_assigned_identity.this["service/${k}"].client_id }
}

output "service_principal_ids" {
  description = "Principal (object) id of each service's identity, keyed by service name: the Entra ID principal a role assignment names. Feeds `services.<name>.principals.<env>` of the topicform spec, whose per-event-hub grants need `topicform.manage_data_roles`."
  value       = { for k, v in var.services : k => azurerm_user_assigned_identity.this["service/${k}"].principal_id }
}

output "tenant_id" {
  description = "Entra ID tenant of the identities; null when none is created."
  value       = try(values(azurerm_user_assigned_identity.this)[0].tenant_id, null)
}

output "federated_subjects" {
  description = "Subject of each federated credential (`system:serviceaccount:<namespace>:<service account>`), keyed `topicform` and `service/<name>`."
  value       = { for k, v in azurerm_federated_identity_credential.this : k => v.subject }
}

output "topicform_role_definition_id" {
  description = "Resource id of the custom role granted to topicform on the namespace; null when `topicform.enabled` is false."
  value       = try(azurerm_role_definition.topicform[0].role_definition_resource_id, null)
}

output "topicform_role_actions" {
  description = "The control-plane actions of topicform's custom role."
  value       = local.topicform_actions
}

output "topicform_data_roles_role_definition_id" {
  description = "Resource id of topicform's second custom role (role assignments read/write/delete, under a condition), granted on the namespace; null unless `topicform.manage_data_roles`."
  value       = try(azurerm_role_definition.topicform_data_roles[0].role_definition_resource_id, null)
}

output "identities" {
  description = "Each user-assigned identity (id, name, client_id, principal_id), keyed `topicform` and `service/<name>`."
  value = { for k, v in azurerm_user_assigned_identity.this : k => {
    id           = v.id
    name         = v.name
    client_id    = v.client_id
    principal_id = v.principal_id
  } }
}
