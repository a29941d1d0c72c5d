output "namespace" {
  description = "Kubernetes namespace of the platform."
  value       = module.platform.namespace
}

output "broker" {
  description = "The `broker:` block the chart got."
  value       = module.platform.broker
}

output "service_accounts" {
  description = "ServiceAccounts of the release (topicform's Job and each service)."
  value       = module.platform.service_accounts
}
