# Event Hubs with SAS: PLAIN, `$ConnectionString`, the connection string in the Secret.
namespace   = "platform"
environment = "prod"
spec        = "version: 1\ntopics:\n  user.created: {}\n"
broker = {
  brokers        = "etelios-prod.servicebus.windows.net:9093"
  sasl_mechanism = "PLAIN"
}
broker_password = "Endpoint=sb://etelios-prod.servicebus.windows.net/;SharedAccessKeyName=topicform;SharedAccessKey=dGVzdA=="
# The topicform Job's own identity (the chart refuses an Event Hubs broker without it).
topicform_client_id = "aaaaaaaa-0000-0000-0000-000000000002"
services = {
  "auth-service"         = { settings = "image: { repository: ghcr.io/etelios/auth-service, tag: '1.0.0' }" }
  "notification-service" = { settings = "image: { repository: ghcr.io/etelios/notification-service, tag: '1.0.0' }" }
}
