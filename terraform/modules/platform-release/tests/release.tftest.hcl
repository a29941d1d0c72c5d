# Offline: the kubernetes and helm providers are mocked. Run from the module
# directory: `terraform test`. The chart's values are decoded from the YAML the
# release gets (`helm_release.this.values[0]`).

mock_provider "kubernetes" {}
mock_provider "helm" {}

variables {
  namespace   = "platform"
  environment = "prod"
  spec        = "version: 1\ntopics:\n  user.created:\n    partitions: 6\n"
}

run "plain_connection_string_in_a_secret" {
  command = apply

  variables {
    broker = {
      brokers        = "etelios-prod.servicebus.windows.net:9093"
      sasl_mechanism = "PLAIN"
    }
    broker_password     = "Endpoint=sb://etelios-prod.servicebus.windows.net/;SharedAccessKeyName=topicform;SharedAccessKey=c2VjcmV0"
    topicform_client_id = "aaaaaaaa-0000-0000-0000-000000000002"
    services = {
      "auth-service" = { settings = "image: { repository: etelios/auth-service, tag: '1.4.2' }" }
    }
  }

  assert {
    condition = yamldecode(helm_release.this.values[0]).broker == {
      brokers          = "etelios-prod.servicebus.windows.net:9093"
      securityProtocol = "SASL_SSL"
      saslMechanism    = "PLAIN"
      saslUsername     = "$ConnectionString"
      existingSecret   = { name = "kafka-broker", keys = { saslPassword = "KAFKA_SASL_PASSWORD" } }
      management       = { workloadIdentity = { clientId = "aaaaaaaa-0000-0000-0000-000000000002" } }
    }
    error_message = "PLAIN broker block must match `topicform env --format helm-values`, plus the topicform Job's identity (management)"
  }
  assert {
    condition     = helm_release.this.dependency_update
    error_message = "the platform's local subcharts must be built at install (charts/ is not committed)"
  }
  assert {
    condition     = !strcontains(helm_release.this.values[0], "SharedAccessKey")
    error_message = "the connection string must never be in the Helm values"
  }
  assert {
    condition = (
      kubernetes_secret_v1.broker[0].metadata[0].name == "kafka-broker" &&
      kubernetes_secret_v1.broker[0].metadata[0].namespace == "platform" &&
      nonsensitive(kubernetes_secret_v1.broker[0].data["KAFKA_SASL_PASSWORD"]) == nonsensitive(var.broker_password)
    )
    error_message = "the Secret kafka-broker holds KAFKA_SASL_PASSWORD in the release's namespace"
  }
  assert {
    condition     = yamldecode(helm_release.this.values[0]).services == [{ name = "auth-service", image = { repository = "etelios/auth-service", tag = "1.4.2" } }]
    error_message = "services list: name plus the entry's settings, no workload identity"
  }
  assert {
    condition = yamldecode(helm_release.this.values[0]).topicform == {
      spec        = var.spec
      environment = "prod"
    }
    error_message = "the topicform Job gets the spec text and the environment; its identity is in the broker block (management), not topicform.azure"
  }
  assert {
    condition     = jsonencode(yamldecode(helm_release.this.values[0]).kafkaLocal) == jsonencode({ enabled = false })
    error_message = "kafkaLocal off by default"
  }
  assert {
    condition     = endswith(helm_release.this.chart, "helm/platform") && helm_release.this.namespace == "platform"
    error_message = "the release installs the repository's helm/platform chart into the namespace"
  }
  assert {
    condition     = kubernetes_namespace_v1.this[0].metadata[0].labels["pod-security.kubernetes.io/enforce"] == "restricted"
    error_message = "the namespace enforces the restricted Pod Security Standard"
  }
}

run "oauthbearer_with_workload_identity" {
  command = apply

  variables {
    broker = {
      brokers                     = "etelios-prod.servicebus.windows.net:9093"
      sasl_mechanism              = "OAUTHBEARER"
      workload_identity_client_id = "aaaaaaaa-0000-0000-0000-000000000001"
    }
    topicform_client_id = "aaaaaaaa-0000-0000-0000-000000000002"
    services = {
      "auth-service"         = { workload_identity_client_id = "aaaaaaaa-0000-0000-0000-000000000003" }
      "notification-service" = {}
    }
  }

  assert {
    condition = yamldecode(helm_release.this.values[0]).broker == {
      brokers          = "etelios-prod.servicebus.windows.net:9093"
      securityProtocol = "SASL_SSL"
      saslMechanism    = "OAUTHBEARER"
      workloadIdentity = { clientId = "aaaaaaaa-0000-0000-0000-000000000001" }
      management       = { workloadIdentity = { clientId = "aaaaaaaa-0000-0000-0000-000000000002" } }
    }
    error_message = "OAUTHBEARER broker block: no username, no secret, the services' and the topicform Job's client ids"
  }
  assert {
    condition     = length(kubernetes_secret_v1.broker) == 0 && output.broker_secret_name == null
    error_message = "no broker Secret with OAUTHBEARER"
  }
  assert {
    condition = yamldecode(helm_release.this.values[0]).services == [
      { name = "auth-service", workloadIdentity = { clientId = "aaaaaaaa-0000-0000-0000-000000000003" } },
      { name = "notification-service" },
    ]
    error_message = "a service's own client id is set on its entry; others use the broker's"
  }
  assert {
    condition     = yamldecode(helm_release.this.values[0]).broker.management == { workloadIdentity = { clientId = "aaaaaaaa-0000-0000-0000-000000000002" } } && !can(yamldecode(helm_release.this.values[0]).topicform.azure)
    error_message = "the topicform Job gets its own workload identity in broker.management, not topicform.azure"
  }
  assert {
    condition = output.service_accounts == {
      "topicform"            = "topicform"
      "auth-service"         = "auth-service"
      "notification-service" = "notification-service"
    }
    error_message = "service accounts: topicform and one per service, named like the service"
  }
}

run "local_kafka_plaintext" {
  command = apply

  variables {
    broker = {
      brokers           = "kafka-local:9092"
      security_protocol = "PLAINTEXT"
    }
    environment         = "local"
    kafka_local_enabled = true
    create_namespace    = false
    extra_values        = ["topicform:\n  logLevel: debug\n"]
  }

  assert {
    condition     = yamldecode(helm_release.this.values[0]).broker == { brokers = "kafka-local:9092", securityProtocol = "PLAINTEXT" }
    error_message = "PLAINTEXT broker block: brokers and protocol only (no management identity without topicform_client_id)"
  }
  assert {
    condition     = yamldecode(helm_release.this.values[0]).kafkaLocal.enabled && length(kubernetes_namespace_v1.this) == 0 && length(kubernetes_secret_v1.broker) == 0
    error_message = "kafka-local on, existing namespace, no Secret"
  }
  assert {
    condition     = jsonencode(yamldecode(helm_release.this.values[0]).kafkaLocal) == jsonencode({ enabled = true, fullnameOverride = "kafka-local" })
    error_message = "kafka-local named kafka-local (the broker address), a boolean enabled"
  }
  assert {
    condition     = yamldecode(helm_release.this.values[0]).topicform.mode == "job"
    error_message = "with kafka-local in the release the topicform Job is a plain Job (a hook would run before the broker exists)"
  }
  assert {
    condition     = length(helm_release.this.values) == 2
    error_message = "extra_values come after the module's values"
  }
}

run "scram_uses_the_secret_and_given_username" {
  command = plan

  variables {
    broker = {
      brokers        = "kafka-0.kafka:9093"
      sasl_mechanism = "SCRAM-SHA-512"
      sasl_username  = "topicform"
    }
    broker_password = "not-in-values"
  }

  assert {
    condition     = yamldecode(helm_release.this.values[0]).broker.saslUsername == "topicform" && yamldecode(helm_release.this.values[0]).broker.existingSecret.keys.saslPassword == "KAFKA_SASL_PASSWORD"
    error_message = "SCRAM: username in values, password in the Secret"
  }
}

run "rejects_sasl_without_mechanism" {
  command = plan
  variables {
    broker = { brokers = "etelios-prod.servicebus.windows.net:9093" }
  }
  expect_failures = [var.broker]
}

run "rejects_bad_protocol" {
  command = plan
  variables {
    broker = { brokers = "kafka:9092", security_protocol = "TLS" }
  }
  expect_failures = [var.broker]
}

run "rejects_plain_without_password" {
  command = plan
  variables {
    broker = { brokers = "etelios-prod.servicebus.windows.net:9093", sasl_mechanism = "PLAIN" }
  }
  expect_failures = [kubernetes_secret_v1.broker]
}

run "rejects_password_with_oauthbearer" {
  command = plan
  variables {
    broker              = { brokers = "etelios-prod.servicebus.windows.net:9093", sasl_mechanism = "OAUTHBEARER", workload_identity_client_id = "aaaaaaaa-0000-0000-0000-000000000001" }
    broker_password     = "Endpoint=sb://x/"
    topicform_client_id = "aaaaaaaa-0000-0000-0000-000000000002"
  }
  expect_failures = [helm_release.this]
}

run "rejects_oauthbearer_without_client_id" {
  command = plan
  variables {
    broker              = { brokers = "etelios-prod.servicebus.windows.net:9093", sasl_mechanism = "OAUTHBEARER" }
    topicform_client_id = "aaaaaaaa-0000-0000-0000-000000000002"
  }
  expect_failures = [helm_release.this]
}

# The topicform Job never borrows the services' identity: on Event Hubs it needs its own.
run "rejects_eventhubs_plain_without_topicform_client_id" {
  command = plan
  variables {
    broker          = { brokers = "etelios-prod.servicebus.windows.net:9093", sasl_mechanism = "PLAIN" }
    broker_password = "Endpoint=sb://x/"
  }
  expect_failures = [helm_release.this]
}

run "rejects_oauthbearer_without_topicform_client_id" {
  command = plan
  variables {
    broker = { brokers = "kafka.example.net:9093", sasl_mechanism = "OAUTHBEARER", workload_identity_client_id = "aaaaaaaa-0000-0000-0000-000000000001" }
  }
  expect_failures = [helm_release.this]
}

run "oauthbearer_keeps_the_job_and_services_identities_apart" {
  command = plan
  variables {
    broker              = { brokers = "etelios-prod.servicebus.windows.net:9093", sasl_mechanism = "OAUTHBEARER", workload_identity_client_id = "aaaaaaaa-0000-0000-0000-000000000001" }
    topicform_client_id = "aaaaaaaa-0000-0000-0000-000000000002"
  }
  assert {
    condition = (
      yamldecode(helm_release.this.values[0]).broker.management == { workloadIdentity = { clientId = "aaaaaaaa-0000-0000-0000-000000000002" } } &&
      yamldecode(helm_release.this.values[0]).broker.workloadIdentity == { clientId = "aaaaaaaa-0000-0000-0000-000000000001" } &&
      !strcontains(yamlencode(yamldecode(helm_release.this.values[0]).topicform), "aaaaaaaa-0000-0000-0000-00000000000")
    )
    error_message = "the topicform Job gets topicform_client_id (broker.management) and never the services' client id (broker.workloadIdentity)"
  }
}

run "rejects_non_spec_yaml" {
  command = plan
  variables {
    broker = { brokers = "kafka:9092", security_protocol = "PLAINTEXT" }
    spec   = "topics: {}\n"
  }
  expect_failures = [var.spec]
}

run "rejects_bad_namespace" {
  command = plan
  variables {
    broker    = { brokers = "kafka:9092", security_protocol = "PLAINTEXT" }
    namespace = "Platform_Prod"
  }
  expect_failures = [var.namespace]
}

# The ServiceAccount of a service is its name (output service_accounts, the
# subject the workload-identity module federates): settings may not rename it.
run "rejects_settings_renaming_the_service_account" {
  command = plan
  variables {
    broker = { brokers = "kafka:9092", security_protocol = "PLAINTEXT" }
    services = {
      "auth-service" = { settings = "serviceAccount: { name: auth }" }
    }
  }
  expect_failures = [var.services]
}

run "rejects_settings_with_fullname_override" {
  command = plan
  variables {
    broker = { brokers = "kafka:9092", security_protocol = "PLAINTEXT" }
    services = {
      "auth-service" = { settings = "fullnameOverride: auth" }
    }
  }
  expect_failures = [var.services]
}

run "rejects_extra_values_renaming_service_accounts" {
  command = plan
  variables {
    broker       = { brokers = "kafka:9092", security_protocol = "PLAINTEXT" }
    extra_values = ["serviceDefaults:\n  serviceAccount:\n    name: shared\n"]
  }
  expect_failures = [helm_release.this]
}

run "service_account_settings_other_than_the_name_are_fine" {
  command = plan
  variables {
    broker = { brokers = "kafka:9092", security_protocol = "PLAINTEXT" }
    services = {
      "auth-service" = { settings = "serviceAccount: { annotations: { team: auth } }\nnameOverride: x" }
    }
    extra_values = ["topicform:\n  serviceAccount:\n    annotations: { team: platform }\n"]
  }
  assert {
    condition     = output.service_accounts == { "topicform" = "topicform", "auth-service" = "auth-service" }
    error_message = "service accounts stay named topicform and after the service"
  }
}
