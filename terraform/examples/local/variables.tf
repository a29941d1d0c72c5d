variable "kubeconfig_path" {
  type        = string
  description = "Path of the kubeconfig file."
  default     = "~/.kube/config"
  nullable    = false
}

variable "kube_context" {
  type        = string
  description = "Kubeconfig context to install into (kind, minikube, k3d, Docker Desktop, ...); null: the current context."
  default     = null
}

variable "namespace" {
  type        = string
  description = "Kubernetes namespace of the platform."
  default     = "platform"
  nullable    = false
}

variable "broker" {
  type = object({
    brokers           = string
    security_protocol = string
  })
  description = "A PLAINTEXT broker that already runs, reachable from the pods (`host:port,...`); null: the chart's kafka-local in the same release."
  default     = null

  validation {
    condition     = var.broker == null ? true : can(regex("^[^,:\\s]+:[0-9]+(,[^,:\\s]+:[0-9]+)*$", var.broker.brokers))
    error_message = "broker.brokers must be host:port[,host:port...]."
  }
  validation {
    condition     = var.broker == null ? true : var.broker.security_protocol == "PLAINTEXT"
    error_message = "this example speaks PLAINTEXT only; see the platform-release module for SASL and Event Hubs."
  }
}

variable "extra_values" {
  type        = list(string)
  description = "More YAML values documents for the platform chart (e.g. `serviceDefaults.image` for the services' image). Keep secrets out of them."
  default     = []
  nullable    = false
}
