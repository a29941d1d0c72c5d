# Existing AKS + Event Hubs premium + workload identity: Terraform owns the
# namespace, the identities, their roles and the release; topicform (the Job the
# release runs) owns the topics and the services' per-event-hub data roles.

provider "azurerm" {
  features {}
  subscription_id = var.subscription_id
}

data "azurerm_kubernetes_cluster" "aks" {
  name                = var.aks_name
  resource_group_name = var.aks_resource_group_name
}

# Entra ID-enabled AKS: kubelogin turns the Azure CLI login into a cluster token
# (6dae42f8-... is the AKS AAD server application, the same in every tenant).
provider "kubernetes" {
  host                   = data.azurerm_kubernetes_cluster.aks.kube_config[0].host
  cluster_ca_certificate = base64decode(data.azurerm_kubernetes_cluster.aks.kube_config[0].cluster_ca_certificate)
  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "kubelogin"
    args        = ["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]
  }
}

# helm provider 3.x: `kubernetes` is an attribute (an object), `exec` too.
provider "helm" {
  kubernetes = {
    host                   = data.azurerm_kubernetes_cluster.aks.kube_config[0].host
    cluster_ca_certificate = base64decode(data.azurerm_kubernetes_cluster.aks.kube_config[0].cluster_ca_certificate)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "kubelogin"
      args        = ["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]
    }
  }
}

module "eventhubs" {
  source = "../../modules/eventhubs-namespace"

  name                = var.eventhubs_namespace_name
  resource_group_name = var.resource_group_name
  location            = var.location
  sku                 = "premium"
  capacity            = var.processing_units
  # Entra ID only: no SAS keys exist, so none can leak.
  local_authentication_enabled = false
  # The AKS egress reaches the public endpoint; use a private endpoint and
  # `false` where the cluster's network allows it.
  public_network_access_enabled = true
}

module "identities" {
  source = "../../modules/workload-identity"

  resource_group_name    = var.resource_group_name
  location               = var.location
  eventhubs_namespace_id = module.eventhubs.namespace_id
  oidc_issuer_url        = data.azurerm_kubernetes_cluster.aks.oidc_issuer_url
  kubernetes_namespace   = var.kubernetes_namespace
  services               = var.services
  # topicform grants each service Azure Event Hubs Data Sender / Receiver per
  # event hub (the spec's `services:`): its identity gets the conditional role
  # that lets it write those role assignments.
  topicform = { manage_data_roles = true }
}

locals {
  spec = yamldecode(file("${path.module}/${var.spec_path}"))
  # The prod environment's cluster block, from the namespace just created:
  # topicform manages its event hubs with its workload identity, services
  # connect with OAUTHBEARER.
  prod_cluster = merge(
    { for k, v in module.eventhubs.topicform_cluster : k => v if v != null },
    {
      management = { credential = "workloadIdentity" }
      kafka      = { mechanism = "OAUTHBEARER", credential = "workloadIdentity" }
    },
  )
  prod_environment = merge(try(local.spec.environments.prod, {}), { cluster = local.prod_cluster })
  # Each spec service's prod principal: the identity this example created for
  # it. The spec's `${<SVC>_SERVICE_PRINCIPAL_ID}` are for CI, outside
  # Terraform; inside the release Terraform knows the ids. Other environments'
  # principals and services without an identity here stay as written. (The
  # `for ... if` filters keep attributes optional: a conditional between
  # objects of different attributes does not type-check.)
  spec_services = {
    for name, service in try(local.spec.services, {}) : name => merge(service, {
      for k in ["principals"] : k => merge(try(service.principals, {}), {
        prod = module.identities.service_principal_ids[name]
      }) if contains(keys(module.identities.service_principal_ids), name)
    })
  }
  spec_for_release = yamlencode(merge(
    local.spec,
    { environments = merge(local.spec.environments, { prod = local.prod_environment }) },
    # A spec without `services:` stays without.
    { for k in ["services"] : k => local.spec_services if try(local.spec.services, null) != null },
  ))
}

module "platform" {
  source = "../../modules/platform-release"

  namespace   = var.kubernetes_namespace
  environment = "prod"
  spec        = local.spec_for_release

  broker = {
    brokers        = module.eventhubs.bootstrap_server
    sasl_mechanism = "OAUTHBEARER"
  }
  topicform_client_id = module.identities.topicform_client_id
  services = { for name, client_id in module.identities.service_client_ids : name => {
    workload_identity_client_id = client_id
  } }
}
