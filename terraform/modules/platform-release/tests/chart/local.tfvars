# Any cluster: the chart's kafka-local, PLAINTEXT.
namespace           = "platform"
environment         = "local"
spec                = "version: 1\ntopics:\n  user.created: {}\n"
kafka_local_enabled = true
broker = {
  brokers           = "kafka-local:9092"
  security_protocol = "PLAINTEXT"
}
services = {
  "auth-service" = { settings = "image: { repository: ghcr.io/etelios/auth-service, tag: '1.0.0' }" }
}
