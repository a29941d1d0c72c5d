# Any Kubernetes context: the platform chart with its single-node Kafka
# (`kafkaLocal.enabled`), PLAINTEXT, and the topicform Job creating the topics.

provider "kubernetes" {
  config_path    = pathexpand(var.kubeconfig_path)
  config_context = var.kube_context
}

# helm provider 3.x: `kubernetes` is an attribute (an object).
provider "helm" {
  kubernetes = {
    config_path    = pathexpand(var.kubeconfig_path)
    config_context = var.kube_context
  }
}

module "platform" {
  source = "../../modules/platform-release"

  namespace   = var.namespace
  environment = "local"
  spec        = file("${path.module}/topicform.yaml")

  # The chart's kafka-local Service, in the release's namespace.
  broker = {
    brokers           = "kafka-local:9092"
    security_protocol = "PLAINTEXT"
  }
  kafka_local_enabled = true

  services = {
    "auth-service"         = {}
    "notification-service" = {}
  }
}
