variable "resource_group_name" {
  type        = string
  description = "Existing resource group of the user-assigned identities."
  nullable    = false

  validation {
    condition     = can(regex("^[-\\w._()]{1,90}$", var.resource_group_name)) && !endswith(var.resource_group_name, ".")
    error_message = "resource_group_name must be 1-90 characters of letters, digits, '-', '_', '.', '(' and ')', not ending with '.'."
  }
}

variable "location" {
  type        = string
  description = "Azure region of the identities, e.g. `westeurope`."
  nullable    = false
}

variable "eventhubs_namespace_id" {
  type        = string
  description = "Resource id of the Event Hubs namespace (the eventhubs-namespace module's `namespace_id`): the scope of every role assignment (the custom role is defined in its resource group)."
  nullable    = false

  validation {
    condition     = can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.EventHub/namespaces/[^/]+$", var.eventhubs_namespace_id))
    error_message = "eventhubs_namespace_id must be an Event Hubs namespace resource id (/subscriptions/.../providers/Microsoft.EventHub/namespaces/NAME)."
  }
}

variable "oidc_issuer_url" {
  type        = string
  description = "OIDC issuer URL of the Kubernetes cluster (AKS: `oidc_issuer_url` of the cluster, with `oidc_issuer_enabled` and `workload_identity_enabled`)."
  nullable    = false

  validation {
    condition     = can(regex("^https://[^\\s]+$", var.oidc_issuer_url))
    error_message = "oidc_issuer_url must be an https URL."
  }
}

variable "kubernetes_namespace" {
  type        = string
  description = "Kubernetes namespace of the service accounts (the platform release's namespace)."
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.kubernetes_namespace))
    error_message = "kubernetes_namespace must be a DNS label: 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit."
  }
}

variable "identity_name_prefix" {
  type        = string
  description = "Prefix of the identities' names: `<prefix>topicform` and `<prefix><service>`."
  default     = "id-"
  nullable    = false

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]{0,60}$", var.identity_name_prefix))
    error_message = "identity_name_prefix must be 1-61 letters, digits, '-' or '_', starting with a letter or digit."
  }
}

variable "topicform" {
  type = object({
    enabled              = optional(bool, true)
    service_account_name = optional(string, "topicform")
    role_name            = optional(string)
    data_plane_roles     = optional(list(string), [])
    manage_data_roles    = optional(bool, false)
  })
  description = <<-EOT
    The identity of topicform's Job:
    - `enabled` (Optional, default `true`): create it
    - `service_account_name` (Optional, default `topicform`): the Job's ServiceAccount in the chart
    - `role_name` (Optional, default `topicform topics on <namespace>`): name of the custom role (unique in the tenant)
    - `data_plane_roles` (Optional, default `[]`): extra data-plane roles on the namespace, e.g. `["Azure Event Hubs Data Receiver"]` for `topicform check --roundtrip`
    - `manage_data_roles` (Optional, default `false`): let topicform grant services Azure Event Hubs Data Sender / Receiver per event hub (`services:` in the spec). Creates a second custom role `topicform data roles on <namespace>` with only `Microsoft.Authorization/roleAssignments/read`, `/write` and `/delete`, assigned on the namespace with an ABAC condition: only those two roles, only to service principals. The condition cannot limit scope: topicform itself keeps its grants on event hubs. Needs `enabled`.
  EOT
  default     = {}
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.topicform.service_account_name))
    error_message = "topicform.service_account_name must be a Kubernetes object name (lowercase letters, digits, '-' and '.')."
  }
  validation {
    condition = alltrue([for r in var.topicform.data_plane_roles : contains([
      "Azure Event Hubs Data Sender", "Azure Event Hubs Data Receiver", "Azure Event Hubs Data Owner"
    ], r)])
    error_message = "topicform.data_plane_roles may hold \"Azure Event Hubs Data Sender\", \"Azure Event Hubs Data Receiver\" and \"Azure Event Hubs Data Owner\"."
  }
  validation {
    condition     = var.topicform.enabled || !var.topicform.manage_data_roles
    error_message = "topicform.manage_data_roles needs topicform.enabled = true (the role is granted to topicform's identity)."
  }
}

variable "services" {
  type = map(object({
    send                 = optional(bool, false)
    listen               = optional(bool, false)
    service_account_name = optional(string)
  }))
  description = <<-EOT
    One identity per service, keyed by service name. A service gets its data-plane rights one of two ways:
    - namespace-wide, from this module: `send` / `listen` below, on every event hub of the namespace;
    - per event hub, from topicform: neither `send` nor `listen`; its rights come from topicform's per-event-hub grants (`services:` in the spec, with `topicform.manage_data_roles`), naming the principal id of output `service_principal_ids`.
    Each entry:
    - `send` (Optional, default `false`): role "Azure Event Hubs Data Sender" on the whole namespace
    - `listen` (Optional, default `false`): role "Azure Event Hubs Data Receiver" on the whole namespace
    - `service_account_name` (Optional, default: the service name, as the platform chart names it)
  EOT
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for k, v in var.services : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", k))])
    error_message = "services keys must be DNS labels (lowercase letters, digits and '-', up to 63): they name Kubernetes objects."
  }
  validation {
    condition     = alltrue([for k, v in var.services : v.service_account_name == null || can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", coalesce(v.service_account_name, "x")))])
    error_message = "services[*].service_account_name must be a Kubernetes object name (lowercase letters, digits, '-' and '.')."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags of the identities."
  default     = {}
  nullable    = false
}
