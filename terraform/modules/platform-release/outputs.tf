output "namespace" {
  description = "Kubernetes namespace of the release."
  value       = var.create_namespace ? kubernetes_namespace_v1.this[0].metadata[0].name : var.namespace
}

output "release_name" {
  description = "Name of the Helm release."
  value       = helm_release.this.name
}

output "broker" {
  description = "The `broker:` block given to the chart (no secret: the password is only in the Secret it names)."
  value       = local.broker
}

output "broker_secret_name" {
  description = "Name of the Kubernetes Secret with `KAFKA_SASL_PASSWORD`; null when the mechanism takes no password."
  value       = try(kubernetes_secret_v1.broker[0].metadata[0].name, null)
}

output "service_accounts" {
  description = "ServiceAccount names the chart creates, keyed `topicform` and by service name (the subjects the workload-identity module federates)."
  value       = local.service_accounts
}

output "values" {
  description = "The values document the module gives the chart (before `extra_values`); no secret is in it."
  value       = local.values
}
