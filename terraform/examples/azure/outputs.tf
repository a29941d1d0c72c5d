output "bootstrap_server" {
  description = "Kafka endpoint of the namespace."
  value       = module.eventhubs.bootstrap_server
}

output "topicform_cluster" {
  description = "The `cluster:` block of the spec's prod environment as the release got it."
  value       = local.prod_cluster
}

output "broker" {
  description = "The `broker:` block the chart got."
  value       = module.platform.broker
}

output "federated_subjects" {
  description = "Federated credential subjects, keyed `topicform` and `service/<name>`."
  value       = module.identities.federated_subjects
}

output "service_accounts" {
  description = "ServiceAccounts of the release (topicform's Job and each service)."
  value       = module.platform.service_accounts
}

output "topicform_client_id" {
  description = "Client id of topicform's identity."
  value       = module.identities.topicform_client_id
}

output "service_principal_ids" {
  description = "Principal (object) id of each service's identity, keyed by service name: the `principals.prod` of the spec's services in the release."
  value       = module.identities.service_principal_ids
}
