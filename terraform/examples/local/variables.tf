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
