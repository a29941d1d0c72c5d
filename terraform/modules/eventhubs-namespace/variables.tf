variable "name" {
  type        = string
  description = "Name of the Event Hubs namespace (globally unique): 6-50 characters, letters, digits and hyphens, starting with a letter and ending with a letter or digit. The Kafka endpoint is `<name>.servicebus.windows.net:9093`."
  nullable    = false

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{4,48}[a-zA-Z0-9]$", var.name))
    error_message = "name must be 6-50 characters of letters, digits and hyphens, start with a letter and end with a letter or digit."
  }
  validation {
    condition     = !can(regex("(-sb|-mgmt)$", var.name))
    error_message = "name must not end with \"-sb\" or \"-mgmt\" (reserved by Azure)."
  }
}

variable "resource_group_name" {
  type        = string
  description = "Existing resource group of the namespace."
  nullable    = false

  validation {
    condition     = can(regex("^[-\\w._()]{1,90}$", var.resource_group_name)) && !endswith(var.resource_group_name, ".")
    error_message = "resource_group_name must be 1-90 characters of letters, digits, '-', '_', '.', '(' and ')', not ending with '.'."
  }
}

variable "location" {
  type        = string
  description = "Azure region of the namespace, e.g. `westeurope`."
  nullable    = false
}

variable "sku" {
  type        = string
  description = "Pricing tier: `standard` or `premium` (basic has no Kafka endpoint). A namespace in a dedicated cluster sets `dedicated_cluster_id` as well; topicform then sees tier `dedicated`."
  default     = "premium"
  nullable    = false

  validation {
    condition     = contains(["standard", "premium"], var.sku)
    error_message = "sku must be \"standard\" or \"premium\" (basic has no Kafka endpoint; dedicated: set dedicated_cluster_id)."
  }
}

variable "capacity" {
  type        = number
  description = "Throughput units (standard: 1-40) or processing units (premium: 1, 2, 4, 6, 8, 10, 12 or 16)."
  default     = 1
  nullable    = false

  validation {
    condition     = var.capacity >= 1 && var.capacity <= 40 && floor(var.capacity) == var.capacity
    error_message = "capacity must be a whole number from 1 to 40 (premium: 1, 2, 4, 6, 8, 10, 12 or 16)."
  }
}

variable "auto_inflate" {
  type = object({
    enabled                  = optional(bool, false)
    maximum_throughput_units = optional(number, 20)
  })
  description = <<-EOT
    Auto-inflate of throughput units (standard tier only):
    - `enabled` (Optional, default `false`)
    - `maximum_throughput_units` (Optional, default `20`): 1-40, at least `capacity`.
  EOT
  default     = {}
  nullable    = false

  validation {
    condition     = var.auto_inflate.maximum_throughput_units >= 1 && var.auto_inflate.maximum_throughput_units <= 40
    error_message = "auto_inflate.maximum_throughput_units must be from 1 to 40."
  }
}

variable "dedicated_cluster_id" {
  type        = string
  description = "Resource id of an Event Hubs dedicated cluster to place the namespace in (null: none). topicform's tier is then `dedicated`."
  default     = null

  validation {
    condition     = var.dedicated_cluster_id == null || can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.EventHub/clusters/[^/]+$", var.dedicated_cluster_id))
    error_message = "dedicated_cluster_id must be an Event Hubs cluster resource id (/subscriptions/.../providers/Microsoft.EventHub/clusters/NAME)."
  }
}

variable "local_authentication_enabled" {
  type        = bool
  description = "Shared access signature (SAS) authentication: `true` for Kafka SASL PLAIN with `$ConnectionString` (creates the `topicform` Manage rule and the per-service rules); `false` (default) for Entra ID only (OAUTHBEARER with workload identity)."
  default     = false
  nullable    = false
}

variable "public_network_access_enabled" {
  type        = bool
  description = "Whether the namespace is reachable from public networks. Default `false` (private endpoints only); `network_rulesets` narrows public access when `true`."
  default     = false
  nullable    = false
}

variable "network_rulesets" {
  type = object({
    default_action                 = optional(string, "Deny")
    trusted_service_access_enabled = optional(bool, false)
    ip_rules                       = optional(list(string), [])
    subnet_ids                     = optional(list(string), [])
  })
  description = <<-EOT
    Network rules (null: none):
    - `default_action` (Optional, default `Deny`): `Allow` or `Deny`
    - `trusted_service_access_enabled` (Optional, default `false`)
    - `ip_rules` (Optional, default `[]`): IPv4 addresses or CIDR ranges allowed
    - `subnet_ids` (Optional, default `[]`): subnet ids allowed (service endpoint `Microsoft.EventHub`)
  EOT
  default     = null

  validation {
    condition     = var.network_rulesets == null || contains(["Allow", "Deny"], try(var.network_rulesets.default_action, ""))
    error_message = "network_rulesets.default_action must be \"Allow\" or \"Deny\"."
  }
  validation {
    condition = var.network_rulesets == null || alltrue([
      for ip in try(var.network_rulesets.ip_rules, []) : can(cidrhost(strcontains(ip, "/") ? ip : "${ip}/32", 0))
    ])
    error_message = "network_rulesets.ip_rules must be IPv4 addresses or CIDR ranges."
  }
}

variable "topicform_authorization_rule_name" {
  type        = string
  description = "Name of the namespace authorization rule (Manage, Send, Listen) for topicform's PLAIN connection; created only when `local_authentication_enabled` is `true`."
  default     = "topicform"
  nullable    = false

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9._-]{0,48}[a-zA-Z0-9]$|^[a-zA-Z0-9]$", var.topicform_authorization_rule_name))
    error_message = "topicform_authorization_rule_name must be 1-50 letters, digits, '.', '_' or '-', starting and ending with a letter or digit."
  }
}

variable "service_authorization_rules" {
  type = map(object({
    send   = optional(bool, false)
    listen = optional(bool, false)
  }))
  description = <<-EOT
    Per-service namespace authorization rules for SASL PLAIN, keyed by service name (the rule's name). Needs `local_authentication_enabled = true`. Each entry:
    - `send` (Optional, default `false`)
    - `listen` (Optional, default `false`); at least one of the two must be `true`.
  EOT
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for k, v in var.service_authorization_rules : v.send || v.listen])
    error_message = "every service_authorization_rules entry needs send = true or listen = true (or both)."
  }
  validation {
    condition     = alltrue([for k in keys(var.service_authorization_rules) : can(regex("^[a-zA-Z0-9][a-zA-Z0-9._-]{0,48}[a-zA-Z0-9]$|^[a-zA-Z0-9]$", k))])
    error_message = "service_authorization_rules keys must be 1-50 letters, digits, '.', '_' or '-', starting and ending with a letter or digit."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags of the namespace."
  default     = {}
  nullable    = false
}
