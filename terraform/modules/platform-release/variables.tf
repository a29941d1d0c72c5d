variable "namespace" {
  type        = string
  description = "Kubernetes namespace of the release (and of the broker Secret and the service accounts)."
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS label: 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit."
  }
}

variable "create_namespace" {
  type        = bool
  description = "Create the namespace (`kubernetes_namespace`); `false` uses an existing one."
  default     = true
  nullable    = false
}

variable "namespace_labels" {
  type        = map(string)
  description = "Labels of the namespace when it is created, e.g. Pod Security Admission `pod-security.kubernetes.io/enforce = restricted` (the default)."
  default     = { "pod-security.kubernetes.io/enforce" = "restricted" }
  nullable    = false
}

variable "release_name" {
  type        = string
  description = "Name of the Helm release."
  default     = "platform"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$", var.release_name))
    error_message = "release_name must be 1-53 lowercase letters, digits and '-', starting and ending with a letter or digit."
  }
}

variable "chart_path" {
  type        = string
  description = "Path of the `platform` chart; null: the repository's `helm/platform`."
  default     = null
}

variable "spec" {
  type        = string
  description = "Content of the topicform spec (`file(\"topicform.yaml\")`), applied by the chart's topicform Job."
  nullable    = false

  validation {
    condition     = can(yamldecode(var.spec)) && try(yamldecode(var.spec).version, null) == 1
    error_message = "spec must be a topicform spec (YAML with `version: 1`)."
  }
}

variable "environment" {
  type        = string
  description = "The spec environment the Job applies (`topicform apply -e`)."
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]*$", var.environment))
    error_message = "environment must be letters, digits, '.', '_' and '-', starting with a letter or digit."
  }
}

variable "broker" {
  type = object({
    brokers                     = string
    security_protocol           = optional(string, "SASL_SSL")
    sasl_mechanism              = optional(string)
    sasl_username               = optional(string)
    workload_identity_client_id = optional(string)
  })
  description = <<-EOT
    The chart's `broker:` block (the same as `topicform env --format helm-values`):
    - `brokers` (Required): comma-separated bootstrap servers, e.g. `NS.servicebus.windows.net:9093`
    - `security_protocol` (Optional, default `SASL_SSL`): `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`
    - `sasl_mechanism` (Optional): `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512` or `OAUTHBEARER`; required with SASL_*
    - `sasl_username` (Optional): the SASL user for PLAIN and SCRAM; default `$ConnectionString` (Event Hubs) for PLAIN
    - `workload_identity_client_id` (Optional): OAUTHBEARER only: the client id services use unless their own is set
  EOT
  nullable    = false

  validation {
    condition     = length(trimspace(var.broker.brokers)) > 0 && alltrue([for b in split(",", var.broker.brokers) : can(regex("^[^\\s:,]+:[0-9]{1,5}$", trimspace(b)))])
    error_message = "broker.brokers must be comma-separated host:port pairs."
  }
  validation {
    condition     = contains(["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"], var.broker.security_protocol)
    error_message = "broker.security_protocol must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."
  }
  validation {
    condition     = startswith(var.broker.security_protocol, "SASL_") == (var.broker.sasl_mechanism != null)
    error_message = "broker.sasl_mechanism is required with SASL_PLAINTEXT and SASL_SSL, and must be unset with PLAINTEXT and SSL."
  }
  validation {
    condition     = var.broker.sasl_mechanism == null || contains(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"], coalesce(var.broker.sasl_mechanism, "PLAIN"))
    error_message = "broker.sasl_mechanism must be PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER."
  }
  validation {
    condition     = var.broker.workload_identity_client_id == null || var.broker.sasl_mechanism == "OAUTHBEARER"
    error_message = "broker.workload_identity_client_id is for sasl_mechanism OAUTHBEARER only."
  }
  validation {
    condition     = var.broker.sasl_username == null || contains(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], coalesce(var.broker.sasl_mechanism, "none"))
    error_message = "broker.sasl_username is for PLAIN and SCRAM only."
  }
}

variable "broker_password" {
  type        = string
  description = "The SASL password for PLAIN or SCRAM (on Event Hubs: the connection string, e.g. the eventhubs-namespace module's `topicform_connection_string`). Stored in the Kubernetes Secret `broker_secret_name` under `KAFKA_SASL_PASSWORD`, never in Helm values."
  default     = null
  sensitive   = true
}

variable "broker_secret_name" {
  type        = string
  description = "Name of the Kubernetes Secret holding the broker password (`broker.existingSecret.name` of the chart)."
  default     = "kafka-broker"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.broker_secret_name))
    error_message = "broker_secret_name must be a Kubernetes object name (lowercase letters, digits, '-' and '.')."
  }
}

variable "topicform_client_id" {
  type        = string
  description = "Client id of topicform's own identity for Azure Resource Manager (workload-identity module's `topicform_client_id`), separate from the services' (`broker.workload_identity_client_id`, which the Job never uses); passed as the chart's `broker.management.workloadIdentity.clientId`, which annotates the Job's ServiceAccount `topicform` (never the services'). Required when the broker is Event Hubs (a `.servicebus.` host, or OAUTHBEARER without kafka-local); null: no workload identity (Kafka)."
  default     = null

  validation {
    condition     = var.topicform_client_id == null || can(regex("^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$", coalesce(var.topicform_client_id, "x")))
    error_message = "topicform_client_id must be a UUID."
  }
}

variable "services" {
  type = map(object({
    workload_identity_client_id = optional(string)
    settings                    = optional(string, "{}")
  }))
  description = <<-EOT
    The chart's `services` list, keyed by service name (which is also each service's ServiceAccount name). Each entry:
    - `workload_identity_client_id` (Optional): the service's own client id (workload-identity module's `service_client_ids`), over `broker.workload_identity_client_id`
    - `settings` (Optional, default `{}`): YAML of the entry's other chart keys (image, replicas, ...); not `name`, `fullnameOverride` or `serviceAccount.name`, which would rename the ServiceAccount the workload-identity module federates
  EOT
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for k, v in var.services : can(regex("^[a-z0-9]([-a-z0-9]{0,46}[a-z0-9])?$", k))])
    error_message = "services keys must be 1-48 lowercase letters, digits and '-', starting and ending with a letter or digit (the chart's service name rule)."
  }
  validation {
    condition     = alltrue([for k, v in var.services : can(keys(yamldecode(v.settings)))])
    error_message = "services[*].settings must be a YAML mapping."
  }
  validation {
    # The module (output `service_accounts`) and the workload-identity module
    # federate ServiceAccount = service name; these keys would change the name
    # the chart gives it (service chart: serviceAccount.name, else
    # fullnameOverride, else name) and silently break the credential's subject.
    condition = alltrue([for k, v in var.services : !can(keys(yamldecode(v.settings))) || (
      !contains(keys(yamldecode(v.settings)), "name") &&
      !contains(keys(yamldecode(v.settings)), "fullnameOverride") &&
      try(yamldecode(v.settings).serviceAccount.name, null) == null
    )])
    error_message = "services[*].settings must not set name, fullnameOverride or serviceAccount.name: the ServiceAccount must be named like the service (the subject of its federated credential; see output service_accounts)."
  }
  validation {
    condition     = alltrue([for k, v in var.services : v.workload_identity_client_id == null || can(regex("^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$", coalesce(v.workload_identity_client_id, "x")))])
    error_message = "services[*].workload_identity_client_id must be a UUID."
  }
}

variable "kafka_local_enabled" {
  type        = bool
  description = "Deploy the chart's single-node Kafka (`kafkaLocal.enabled`) for local clusters."
  default     = false
  nullable    = false
}

variable "extra_values" {
  type        = list(string)
  description = "More YAML values documents, after the module's own (Helm merges them in order; later wins). Keep secrets out of them. They must not rename the ServiceAccounts (`serviceDefaults.serviceAccount.name`, `serviceDefaults.fullnameOverride`, `topicform.serviceAccount.name`) nor replace `services`."
  default     = []
  nullable    = false
}

variable "wait" {
  type        = bool
  description = "Wait until the release's resources are ready (`helm --wait`)."
  default     = true
  nullable    = false
}

variable "timeout" {
  type        = number
  description = "Seconds Helm waits for the release (the topicform Job hook included)."
  default     = 600
  nullable    = false

  validation {
    condition     = var.timeout >= 30 && var.timeout <= 3600
    error_message = "timeout must be from 30 to 3600 seconds."
  }
}
