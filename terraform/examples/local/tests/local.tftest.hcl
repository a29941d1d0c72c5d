# The example as a test: mocked kubernetes and helm providers.

mock_provider "kubernetes" {}
mock_provider "helm" {}

run "local_platform_with_kafka_local" {
  command = apply

  assert {
    condition     = output.broker == { brokers = "kafka-local:9092", securityProtocol = "PLAINTEXT" }
    error_message = "local example: PLAINTEXT to the chart's kafka-local"
  }
  assert {
    condition     = output.service_accounts == { "topicform" = "topicform", "auth-service" = "auth-service", "notification-service" = "notification-service" }
    error_message = "service accounts of the local example"
  }
}

run "a_broker_that_already_runs_replaces_kafka_local" {
  command = apply

  variables {
    broker       = { brokers = "10.0.0.1:9092", security_protocol = "PLAINTEXT" }
    extra_values = ["serviceDefaults: { replicaCount: 1 }"]
  }

  assert {
    condition     = output.broker == { brokers = "10.0.0.1:9092", securityProtocol = "PLAINTEXT" }
    error_message = "the given broker is the chart's broker block"
  }
}

run "a_broker_without_a_port_is_refused" {
  command = plan

  variables {
    broker = { brokers = "kafka", security_protocol = "PLAINTEXT" }
  }

  expect_failures = [var.broker]
}
