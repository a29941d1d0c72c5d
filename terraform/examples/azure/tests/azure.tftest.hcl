# The example as a test: every provider mocked, the modules wired for real.

mock_provider "azurerm" {
  mock_data "azurerm_kubernetes_cluster" {
    defaults = {
      oidc_issuer_url = "https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/11111111-0000-0000-0000-000000000000/"
      kube_config = [{
        host                   = "https://aks-etelios-prod.hcp.westeurope.azmk8s.io:443"
        cluster_ca_certificate = "Y2E="
        client_certificate     = ""
        client_key             = ""
        username               = ""
        password               = ""
      }]
    }
  }
  mock_resource "azurerm_eventhub_namespace" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-etelios-prod/providers/Microsoft.EventHub/namespaces/etelios-prod"
    }
  }
  mock_resource "azurerm_role_definition" {
    defaults = {
      role_definition_resource_id = "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Authorization/roleDefinitions/44444444-4444-4444-4444-444444444444"
    }
  }
  mock_resource "azurerm_user_assigned_identity" {
    defaults = {
      id           = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-etelios-prod/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-mock"
      client_id    = "11111111-1111-1111-1111-111111111111"
      principal_id = "22222222-2222-2222-2222-222222222222"
      tenant_id    = "33333333-3333-3333-3333-333333333333"
    }
  }
}
mock_provider "kubernetes" {}
mock_provider "helm" {}

run "event_hubs_premium_with_workload_identity" {
  command = apply

  assert {
    condition = output.broker == {
      brokers          = "etelios-prod.servicebus.windows.net:9093"
      securityProtocol = "SASL_SSL"
      saslMechanism    = "OAUTHBEARER"
      management       = { workloadIdentity = { clientId = "11111111-1111-1111-1111-111111111111" } }
    }
    error_message = "services get OAUTHBEARER to the namespace's Kafka endpoint (client ids per service); the Job's identity is the broker block's management"
  }
  assert {
    condition = alltrue([
      for key, sa in output.service_accounts :
      output.federated_subjects[key == "topicform" ? key : "service/${key}"] == "system:serviceaccount:platform:${sa}"
    ]) && length(output.federated_subjects) == length(output.service_accounts)
    error_message = "every ServiceAccount of the release has a federated credential naming it, and no other exists"
  }
  assert {
    condition = output.topicform_cluster == {
      type           = "eventhubs"
      namespace      = "etelios-prod"
      tier           = "premium"
      capacity       = 2
      subscriptionId = "00000000-0000-0000-0000-000000000001"
      resourceGroup  = "rg-etelios-prod"
      management     = { credential = "workloadIdentity" }
      kafka          = { mechanism = "OAUTHBEARER", credential = "workloadIdentity" }
    }
    error_message = "the spec's prod cluster block names the namespace Terraform created"
  }
  assert {
    condition = (
      yamldecode(module.platform.values.topicform.spec).environments.prod.cluster == output.topicform_cluster &&
      length(yamldecode(module.platform.values.topicform.spec).topics) == 35 &&
      yamldecode(module.platform.values.topicform.spec).environments.local.cluster.type == "kafka"
    )
    error_message = "the Job's spec is the example spec (35 topics, other environments untouched) with the namespace's prod cluster block"
  }
  assert {
    condition     = output.topicform_client_id == "11111111-1111-1111-1111-111111111111" && output.broker.management.workloadIdentity.clientId == output.topicform_client_id
    error_message = "the Job gets topicform's identity (broker.management)"
  }
  assert {
    condition = (
      yamldecode(module.platform.values.topicform.spec).services["auth-service"].principals.prod == "22222222-2222-2222-2222-222222222222" &&
      yamldecode(module.platform.values.topicform.spec).services["auth-service"].principals.staging == "User:auth-service" &&
      { for name, s in yamldecode(module.platform.values.topicform.spec).services : name => s.principals.prod } == output.service_principal_ids &&
      length(output.service_principal_ids) == 5
    )
    error_message = "each spec service's principals.prod is its identity's principal id (not the spec's $${<SVC>_SERVICE_PRINCIPAL_ID}); other environments' principals stay"
  }
  assert {
    condition     = module.identities.topicform_data_roles_role_definition_id == "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Authorization/roleDefinitions/44444444-4444-4444-4444-444444444444"
    error_message = "topicform's identity gets the conditional role to grant services their per-event-hub data roles (topicform.manage_data_roles)"
  }
  assert {
    # The identities module's own tests show that a service with neither send
    # nor listen gets no namespace-wide role assignment (its resources are not
    # visible from here).
    condition     = length(var.services) == 5 && alltrue([for name, s in var.services : !s.send && !s.listen])
    error_message = "by default no service gets a namespace-wide data role (send / listen): topicform grants them per event hub"
  }
}
