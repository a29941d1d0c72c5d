variable "subscription_id" {
  type        = string
  description = "Azure subscription of the namespace, the identities and the cluster; null: `ARM_SUBSCRIPTION_ID`."
  default     = null
}

variable "resource_group_name" {
  type        = string
  description = "Existing resource group for the Event Hubs namespace and the identities."
  default     = "rg-etelios-prod"
  nullable    = false
}

variable "location" {
  type        = string
  description = "Azure region of the namespace and the identities."
  default     = "westeurope"
  nullable    = false
}

variable "aks_name" {
  type        = string
  description = "Name of the existing AKS cluster (with `oidc_issuer_enabled` and `workload_identity_enabled`)."
  default     = "aks-etelios-prod"
  nullable    = false
}

variable "aks_resource_group_name" {
  type        = string
  description = "Resource group of the AKS cluster."
  default     = "rg-etelios-prod"
  nullable    = false
}

variable "eventhubs_namespace_name" {
  type        = string
  description = "Name of the Event Hubs namespace (globally unique)."
  default     = "etelios-prod"
  nullable    = false
}

variable "processing_units" {
  type        = number
  description = "Premium processing units (1, 2, 4, 6, 8, 10, 12 or 16). The example spec's 312 partitions need 2 (premium: 200 partitions per processing unit; `topicform validate` checks it)."
  default     = 2
  nullable    = false
}

variable "kubernetes_namespace" {
  type        = string
  description = "Kubernetes namespace of the platform release."
  default     = "platform"
  nullable    = false
}

variable "spec_path" {
  type        = string
  description = "The topicform spec; its `prod` environment's `cluster:` block is replaced by the namespace this example creates, and each service's `principals.prod` by the principal id of the identity it creates."
  default     = "../../../examples/etelios/topicform.yaml"
  nullable    = false
}

variable "services" {
  type = map(object({
    send   = optional(bool, false)
    listen = optional(bool, false)
  }))
  description = "Services of the platform, keyed by name: one workload identity each. By default (`{}`) a service gets no namespace-wide rights: topicform grants it Azure Event Hubs Data Sender / Receiver per event hub from the spec's `services:` (its `principals.prod` is set to the identity's principal id). `send` / `listen` give it Data Sender / Receiver on the whole namespace instead (wider than its topics; topicform's plan warns about them)."
  default = {
    "auth-service"         = {}
    "hr-service"           = {}
    "notification-service" = {}
    "analytics-service"    = {}
    "inventory-service"    = {}
  }
  nullable = false
}
