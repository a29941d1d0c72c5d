output "namespace_id" {
  description = "Resource id of the Event Hubs namespace (the scope of the workload-identity module's role assignments)."
  value       = azurerm_eventhub_namespace.this.id
}

output "namespace_name" {
  description = "Name of the Event Hubs namespace."
  value       = azurerm_eventhub_namespace.this.name
}

output "bootstrap_server" {
  description = "Kafka bootstrap server of the namespace: `<name>.servicebus.windows.net:9093` (SASL_SSL)."
  value       = "${azurerm_eventhub_namespace.this.name}.servicebus.windows.net:9093"
}

output "topicform_cluster" {
  description = "The `cluster:` block of a topicform spec environment for this namespace (type, namespace, tier, capacity, subscriptionId, resourceGroup); `capacity` is set for premium only (processing units), as topicform reads it."
  value = {
    type           = "eventhubs"
    namespace      = azurerm_eventhub_namespace.this.name
    tier           = local.topicform_tier
    capacity       = local.topicform_tier == "premium" ? var.capacity : null
    subscriptionId = try(regex("^/subscriptions/([^/]+)/", azurerm_eventhub_namespace.this.id)[0], null)
    resourceGroup  = var.resource_group_name
  }
}

output "topicform_connection_string" {
  description = "Primary connection string of the `topicform` Manage rule (the SASL PLAIN password, username `$ConnectionString`); null without SAS."
  value       = try(azurerm_eventhub_namespace_authorization_rule.topicform[0].primary_connection_string, null)
  sensitive   = true
}

output "service_connection_strings" {
  description = "Primary connection string of each service's rule, keyed like `service_authorization_rules`."
  value       = { for k, r in azurerm_eventhub_namespace_authorization_rule.service : k => r.primary_connection_string }
  sensitive   = true
}

output "authorization_rule_ids" {
  description = "Resource ids of the authorization rules created, keyed by rule name (`topicform` and the services)."
  value = merge(
    { for r in azurerm_eventhub_namespace_authorization_rule.topicform : r.name => r.id },
    { for k, r in azurerm_eventhub_namespace_authorization_rule.service : k => r.id },
  )
}

output "resource" {
  description = "The whole `azurerm_eventhub_namespace` resource (sensitive: it carries the namespace's default keys)."
  value       = azurerm_eventhub_namespace.this
  sensitive   = true
}
