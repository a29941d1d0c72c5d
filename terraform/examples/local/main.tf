# Any Kubernetes context: the platform chart with its single-node Kafka
# (`kafkaLocal.enabled`) or a broker of your own (var.broker), PLAINTEXT, and
# the topicform Job creating the topics.

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

  # The chart's kafka-local Service, in the release's namespace, unless
  # var.broker names a broker that already runs.
  broker = coalesce(var.broker, {
    brokers           = "kafka-local:9092"
    security_protocol = "PLAINTEXT"
  })
  kafka_local_enabled = var.broker == null
  extra_values        = var.extra_values

  services = {
    "auth-service"         = {}
    "notification-service" = {}
  }
}
