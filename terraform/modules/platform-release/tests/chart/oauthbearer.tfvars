# Event Hubs with Entra ID: OAUTHBEARER, a client id per service and for the Job.
namespace   = "platform"
environment = "prod"
spec        = "version: 1\ntopics:\n  user.created: {}\n"
broker = {
  brokers                     = "etelios-prod.servicebus.windows.net:9093"
  sasl_mechanism              = "OAUTHBEARER"
  workload_identity_client_id = "aaaaaaaa-0000-0000-0000-000000000001"
}
topicform_client_id = "aaaaaaaa-0000-0000-0000-000000000002"
services = {
  "auth-service" = {
    workload_identity_client_id = "aaaaaaaa-0000-0000-0000-000000000003"
    settings                    = "image: { repository: ghcr.io/etelios/auth-service, tag: '1.0.0' }"
  }
  "notification-service" = { settings = "image: { repository: ghcr.io/etelios/notification-service, tag: '1.0.0' }" }
}
