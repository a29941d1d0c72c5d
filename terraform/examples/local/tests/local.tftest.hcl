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
