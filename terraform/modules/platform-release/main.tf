locals {
  chart_path = coalesce(var.chart_path, "${path.module}/../../../helm/platform")

  mechanism = var.broker.sasl_mechanism
  # PLAIN and SCRAM authenticate with a password, which lives in a Secret.
  password_auth = contains(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"], coalesce(local.mechanism, "none"))
  oauthbearer   = local.mechanism == "OAUTHBEARER"
  # The chart's rule (helm/platform, platform.eventHubs): an Event Hubs broker
  # means the topicform Job manages event hubs through Azure Resource Manager,
  # with its own identity (topicform_client_id), never the services'.
  eventhubs = strcontains(lower(var.broker.brokers), ".servicebus.") || (local.oauthbearer && !var.kafka_local_enabled)
  # Event Hubs' SASL PLAIN user is the literal `$ConnectionString`.
  sasl_username = local.mechanism == "PLAIN" ? coalesce(var.broker.sasl_username, "$ConnectionString") : var.broker.sasl_username

  secret_key = "KAFKA_SASL_PASSWORD"

  # The values depend on variables only (not on resource attributes), so
  # deploy/test-terraform.sh can render them with `terraform console` and check
  # them against the chart's schema with `helm template`.
  #
  # The `broker:` block exactly as `topicform env --format helm-values` prints it:
  # keys that do not apply are left out, not set to null. Plus, when set, the
  # topicform Job's own identity as `management.workloadIdentity.clientId`
  # (the chart gives it to the Job only; switching brokers changes this block
  # and nothing else).
  broker = merge(
    {
      brokers          = var.broker.brokers
      securityProtocol = var.broker.security_protocol
    },
    local.mechanism != null ? { saslMechanism = local.mechanism } : {},
    local.sasl_username != null ? { saslUsername = local.sasl_username } : {},
    local.password_auth ? {
      existingSecret = {
        name = var.broker_secret_name
        keys = { saslPassword = local.secret_key }
      }
    } : {},
    local.oauthbearer && var.broker.workload_identity_client_id != null ? {
      workloadIdentity = { clientId = var.broker.workload_identity_client_id }
    } : {},
    var.topicform_client_id != null ? {
      management = { workloadIdentity = { clientId = var.topicform_client_id } }
    } : {},
  )

  services = [for name in sort(keys(var.services)) : merge(
    yamldecode(var.services[name].settings),
    { name = name },
    var.services[name].workload_identity_client_id != null ? {
      workloadIdentity = { clientId = var.services[name].workload_identity_client_id }
    } : {},
  )]

  topicform = merge(
    {
      spec        = var.spec
      environment = var.environment
    },
    # The hook Job would run before kafka-local exists: a plain Job waits for it.
    var.kafka_local_enabled ? { mode = "job" } : {},
  )

  values = {
    broker    = local.broker
    services  = local.services
    topicform = local.topicform
    # `kafka-local` names the broker's Service, whatever the release is called.
    kafkaLocal = merge(
      { enabled = var.kafka_local_enabled },
      var.kafka_local_enabled ? { fullnameOverride = "kafka-local" } : {},
    )
  }

  # ServiceAccounts the chart creates (and the federated credentials must name).
  service_accounts = merge(
    { topicform = "topicform" },
    { for name in keys(var.services) : name => name },
  )
}

resource "kubernetes_namespace_v1" "this" {
  count = var.create_namespace ? 1 : 0

  metadata {
    name   = var.namespace
    labels = var.namespace_labels
  }
}

# The broker credential: only here, never in the Helm values (which Helm keeps
# in its release Secret and shows with `helm get values`).
resource "kubernetes_secret_v1" "broker" {
  count = local.password_auth ? 1 : 0

  metadata {
    name      = var.broker_secret_name
    namespace = var.namespace
    labels = {
      "app.kubernetes.io/managed-by" = "terraform"
      "app.kubernetes.io/part-of"    = var.release_name
    }
  }

  depends_on = [kubernetes_namespace_v1.this]

  type = "Opaque"
  data = {
    (local.secret_key) = var.broker_password
  }

  lifecycle {
    precondition {
      condition     = var.broker_password != null
      error_message = "broker_password is required for sasl_mechanism ${coalesce(local.mechanism, "none")} (on Event Hubs: the connection string)."
    }
  }
}

resource "helm_release" "this" {
  name      = var.release_name
  namespace = var.namespace
  chart     = local.chart_path
  wait      = var.wait
  timeout   = var.timeout
  # helm/platform's subcharts are local (file://) dependencies whose built
  # copies in charts/ are not committed: build them on every install, so a
  # checkout never installs stale subcharts.
  dependency_update = true

  values = concat([yamlencode(local.values)], var.extra_values)

  # The namespace and the broker Secret exist before the release (its hook Job
  # reads the Secret).
  depends_on = [kubernetes_namespace_v1.this, kubernetes_secret_v1.broker]

  lifecycle {
    precondition {
      condition     = local.password_auth || var.broker_password == null
      error_message = "broker_password is set but sasl_mechanism ${coalesce(local.mechanism, "(none)")} takes no password; it would be ignored."
    }
    precondition {
      condition     = !local.oauthbearer || var.broker.workload_identity_client_id != null || (length(var.services) > 0 && alltrue([for k, v in var.services : v.workload_identity_client_id != null]))
      error_message = "OAUTHBEARER needs a workload identity client id: broker.workload_identity_client_id, or one for every service."
    }
    precondition {
      # ServiceAccount names are `topicform` and the service names (output
      # service_accounts, the federated credentials' subjects); extra values may
      # not change them.
      condition = alltrue([for doc in var.extra_values : (
        try(yamldecode(doc).serviceDefaults.serviceAccount.name, null) == null &&
        try(yamldecode(doc).serviceDefaults.fullnameOverride, null) == null &&
        try(yamldecode(doc).topicform.serviceAccount.name, null) == null &&
        try(yamldecode(doc).services, null) == null
      )])
      error_message = "extra_values must not set serviceDefaults.serviceAccount.name, serviceDefaults.fullnameOverride, topicform.serviceAccount.name or services: the ServiceAccounts must keep the names in output service_accounts (the federated credentials' subjects)."
    }
    precondition {
      condition     = !local.eventhubs || var.topicform_client_id != null
      error_message = "the broker is Event Hubs (a .servicebus. host, or OAUTHBEARER without kafka-local): topicform_client_id is required (the topicform Job's own identity for Azure Resource Manager, e.g. the workload-identity module's topicform_client_id; it never uses the services' identity)."
    }
  }
}
