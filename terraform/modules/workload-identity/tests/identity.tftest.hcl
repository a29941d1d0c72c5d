# Offline: the azurerm provider is mocked. Run from the module directory: `terraform test`.

mock_provider "azurerm" {
  mock_resource "azurerm_user_assigned_identity" {
    defaults = {
      id           = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-etelios-prod/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-mock"
      client_id    = "11111111-1111-1111-1111-111111111111"
      principal_id = "22222222-2222-2222-2222-222222222222"
      tenant_id    = "33333333-3333-3333-3333-333333333333"
    }
  }
  mock_resource "azurerm_role_definition" {
    defaults = {
      role_definition_resource_id = "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Authorization/roleDefinitions/44444444-4444-4444-4444-444444444444"
    }
  }
}

variables {
  resource_group_name    = "rg-etelios-prod"
  location               = "westeurope"
  eventhubs_namespace_id = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-etelios-prod/providers/Microsoft.EventHub/namespaces/etelios-prod"
  oidc_issuer_url        = "https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/11111111-0000-0000-0000-000000000000/"
  kubernetes_namespace   = "platform"
  services = {
    "auth-service"         = { send = true, listen = true }
    "notification-service" = { listen = true }
  }
}

run "federated_credentials_name_the_charts_service_accounts" {
  command = apply

  assert {
    condition = output.federated_subjects == {
      "topicform"                    = "system:serviceaccount:platform:topicform"
      "service/auth-service"         = "system:serviceaccount:platform:auth-service"
      "service/notification-service" = "system:serviceaccount:platform:notification-service"
    }
    error_message = "subjects must be system:serviceaccount:<namespace>:<chart service account>"
  }
  assert {
    condition     = alltrue([for k, v in azurerm_federated_identity_credential.this : v.audience == tolist(["api://AzureADTokenExchange"]) && v.issuer == var.oidc_issuer_url])
    error_message = "audience api://AzureADTokenExchange and the cluster's issuer on every credential"
  }
  assert {
    condition     = azurerm_user_assigned_identity.this["topicform"].name == "id-topicform" && azurerm_user_assigned_identity.this["service/auth-service"].name == "id-auth-service"
    error_message = "identities are named <prefix>topicform and <prefix><service>"
  }
  assert {
    condition     = output.topicform_client_id == "11111111-1111-1111-1111-111111111111" && output.service_client_ids["auth-service"] == "11111111-1111-1111-1111-111111111111"
    error_message = "client ids come from the identities"
  }
  assert {
    condition     = output.service_principal_ids == { "auth-service" = "22222222-2222-2222-2222-222222222222", "notification-service" = "22222222-2222-2222-2222-222222222222" }
    error_message = "each service's principal (object) id, keyed by service name"
  }
}

run "custom_role_is_least_privilege_on_the_namespace" {
  command = apply

  assert {
    condition = toset(azurerm_role_definition.topicform[0].permissions[0].actions) == toset([
      "Microsoft.EventHub/namespaces/read",
      "Microsoft.EventHub/namespaces/eventhubs/read",
      "Microsoft.EventHub/namespaces/eventhubs/write",
      "Microsoft.EventHub/namespaces/eventhubs/delete",
    ]) && length(azurerm_role_definition.topicform[0].permissions[0].actions) == 4
    error_message = "topicform's role: namespace read and event hubs read/write/delete, nothing else"
  }
  assert {
    condition     = length(coalesce(azurerm_role_definition.topicform[0].permissions[0].data_actions, [])) == 0
    error_message = "topicform's custom role has no data actions"
  }
  assert {
    condition = (
      azurerm_role_definition.topicform[0].scope == "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-etelios-prod" &&
      azurerm_role_definition.topicform[0].assignable_scopes == tolist(["/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-etelios-prod"])
    )
    error_message = "the role is defined on and assignable in the namespace's resource group (custom roles cannot be assignable at a single resource)"
  }
  assert {
    condition     = azurerm_role_definition.topicform[0].name == "topicform topics on etelios-prod"
    error_message = "role name names the namespace (custom role names are unique per tenant)"
  }
  assert {
    condition = (
      azurerm_role_assignment.topicform[0].scope == var.eventhubs_namespace_id &&
      azurerm_role_assignment.topicform[0].role_definition_id == azurerm_role_definition.topicform[0].role_definition_resource_id &&
      azurerm_role_assignment.topicform[0].principal_type == "ServicePrincipal"
    )
    error_message = "topicform's identity holds the custom role on the namespace"
  }
}

run "data_plane_roles_per_service" {
  command = apply

  assert {
    condition = { for k, v in azurerm_role_assignment.data_plane : k => v.role_definition_name } == {
      "service/auth-service/sender"           = "Azure Event Hubs Data Sender"
      "service/auth-service/receiver"         = "Azure Event Hubs Data Receiver"
      "service/notification-service/receiver" = "Azure Event Hubs Data Receiver"
    }
    error_message = "send -> Data Sender, listen -> Data Receiver, per service"
  }
  assert {
    condition     = alltrue([for v in azurerm_role_assignment.data_plane : v.scope == var.eventhubs_namespace_id])
    error_message = "data-plane roles are scoped to the namespace"
  }
}

run "custom_service_account_and_no_topicform" {
  command = plan

  variables {
    topicform = { enabled = false }
    services  = { "billing" = { send = true, service_account_name = "billing-sa" } }
  }

  assert {
    condition     = length(azurerm_role_definition.topicform) == 0 && output.topicform_client_id == null
    error_message = "no topicform identity or role when disabled"
  }
  assert {
    condition     = azurerm_federated_identity_credential.this["service/billing"].subject == "system:serviceaccount:platform:billing-sa"
    error_message = "service_account_name overrides the service name"
  }
}

run "rejects_http_issuer" {
  command = plan
  variables {
    oidc_issuer_url = "http://issuer.example"
  }
  expect_failures = [var.oidc_issuer_url]
}

run "rejects_non_namespace_scope" {
  command = plan
  variables {
    eventhubs_namespace_id = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-etelios-prod"
  }
  expect_failures = [var.eventhubs_namespace_id]
}

# Neither send nor listen: no namespace-wide data role; the service's rights
# come from topicform's per-event-hub grants (services: in the spec).
run "service_without_send_or_listen_gets_no_namespace_role" {
  command = apply

  variables {
    topicform = { manage_data_roles = true }
    services = {
      "auth-service"    = { send = true }
      "billing-service" = {}
      "report-service"  = { send = false, listen = false }
    }
  }

  assert {
    condition     = keys(azurerm_role_assignment.data_plane) == ["service/auth-service/sender"]
    error_message = "only services with send / listen get a namespace-wide data role"
  }
  assert {
    condition = (
      azurerm_user_assigned_identity.this["service/report-service"].name == "id-report-service" &&
      azurerm_federated_identity_credential.this["service/report-service"].subject == "system:serviceaccount:platform:report-service" &&
      contains(keys(azurerm_user_assigned_identity.this), "service/billing-service")
    )
    error_message = "a service without send / listen keeps its identity and federated credential"
  }
  assert {
    condition     = keys(output.service_principal_ids) == ["auth-service", "billing-service", "report-service"] && output.service_principal_ids["report-service"] == "22222222-2222-2222-2222-222222222222"
    error_message = "every service, with or without send / listen, is in service_principal_ids (for services.<name>.principals.<env>)"
  }
}

run "manage_data_roles_is_off_by_default" {
  command = plan

  assert {
    condition = (
      length(azurerm_role_definition.topicform_data_roles) == 0 &&
      length(azurerm_role_assignment.topicform_data_roles) == 0 &&
      output.topicform_data_roles_role_definition_id == null
    )
    error_message = "no role-assignment rights for topicform unless topicform.manage_data_roles"
  }
  assert {
    condition     = !anytrue([for a in azurerm_role_definition.topicform[0].permissions[0].actions : startswith(a, "Microsoft.Authorization/")])
    error_message = "the first custom role never holds Microsoft.Authorization actions"
  }
}

run "manage_data_roles_adds_a_conditional_role_on_the_namespace" {
  command = apply

  variables {
    topicform = { manage_data_roles = true }
  }

  assert {
    condition = toset(azurerm_role_definition.topicform_data_roles[0].permissions[0].actions) == toset([
      "Microsoft.Authorization/roleAssignments/read",
      "Microsoft.Authorization/roleAssignments/write",
      "Microsoft.Authorization/roleAssignments/delete",
    ]) && length(azurerm_role_definition.topicform_data_roles[0].permissions[0].actions) == 3
    error_message = "the second role: role assignments read/write/delete, nothing else"
  }
  assert {
    condition     = length(coalesce(azurerm_role_definition.topicform_data_roles[0].permissions[0].data_actions, [])) == 0
    error_message = "the second role has no data actions"
  }
  assert {
    condition = (
      azurerm_role_definition.topicform_data_roles[0].name == "topicform data roles on etelios-prod" &&
      azurerm_role_definition.topicform_data_roles[0].scope == "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-etelios-prod" &&
      azurerm_role_definition.topicform_data_roles[0].assignable_scopes == tolist(["/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-etelios-prod"])
    )
    error_message = "the second role is defined on and assignable in the namespace's resource group"
  }
  assert {
    condition = (
      azurerm_role_assignment.topicform_data_roles[0].scope == var.eventhubs_namespace_id &&
      azurerm_role_assignment.topicform_data_roles[0].role_definition_id == azurerm_role_definition.topicform_data_roles[0].role_definition_resource_id &&
      azurerm_role_assignment.topicform_data_roles[0].principal_id == azurerm_user_assigned_identity.this["topicform"].principal_id &&
      azurerm_role_assignment.topicform_data_roles[0].principal_type == "ServicePrincipal"
    )
    error_message = "topicform's identity holds the second role on the namespace, as a service principal"
  }
  assert {
    condition = (
      azurerm_role_assignment.topicform_data_roles[0].condition_version == "2.0" &&
      strcontains(azurerm_role_assignment.topicform_data_roles[0].condition, "2b629674-e913-4c01-ae53-ef4638d8f975") &&
      strcontains(azurerm_role_assignment.topicform_data_roles[0].condition, "a638d3c7-ab3a-418d-83e6-5f17a39d4fde") &&
      strcontains(azurerm_role_assignment.topicform_data_roles[0].condition, "StringEqualsIgnoreCase {'ServicePrincipal'}")
    )
    error_message = "the assignment's condition (version 2.0) allows only Data Sender / Data Receiver, only to service principals"
  }
  assert {
    condition = (
      length(regexall("@Request\\[Microsoft\\.Authorization/roleAssignments:RoleDefinitionId\\]", azurerm_role_assignment.topicform_data_roles[0].condition)) == 1 &&
      length(regexall("@Resource\\[Microsoft\\.Authorization/roleAssignments:RoleDefinitionId\\]", azurerm_role_assignment.topicform_data_roles[0].condition)) == 1 &&
      length(regexall("PrincipalType\\] ForAnyOfAnyValues:StringEqualsIgnoreCase \\{'ServicePrincipal'\\}", azurerm_role_assignment.topicform_data_roles[0].condition)) == 2
    )
    error_message = "the condition constrains both write (@Request) and delete (@Resource)"
  }
  assert {
    condition     = output.topicform_data_roles_role_definition_id == azurerm_role_definition.topicform_data_roles[0].role_definition_resource_id
    error_message = "the output names the second role"
  }
  assert {
    condition     = length(azurerm_role_definition.topicform[0].permissions[0].actions) == 4 && azurerm_role_assignment.topicform[0].condition == null
    error_message = "the first role and its unconditional assignment are unchanged"
  }
}

run "rejects_manage_data_roles_without_topicform" {
  command = plan
  variables {
    topicform = { enabled = false, manage_data_roles = true }
  }
  expect_failures = [var.topicform]
}

run "rejects_unknown_data_plane_role" {
  command = plan
  variables {
    topicform = { data_plane_roles = ["Owner"] }
  }
  expect_failures = [var.topicform]
}

# Federated credential names take letters, digits, '-' and '_'; Kubernetes
# service account names may hold '.'.
run "dotted_service_account_names_give_valid_credential_names" {
  command = plan

  variables {
    topicform = { service_account_name = "topicform.apply" }
    services  = { "billing" = { send = true, service_account_name = "billing.v2" } }
  }

  assert {
    condition = (
      azurerm_federated_identity_credential.this["topicform"].name == "k8s-platform-topicform-apply" &&
      azurerm_federated_identity_credential.this["service/billing"].name == "k8s-platform-billing-v2"
    )
    error_message = "'.' becomes '-' in the credential's name"
  }
  assert {
    condition     = alltrue([for v in azurerm_federated_identity_credential.this : can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{2,119}$", v.name))])
    error_message = "every credential name is 3-120 letters, digits, '-' and '_', starting with a letter or digit"
  }
  assert {
    condition = (
      azurerm_federated_identity_credential.this["topicform"].subject == "system:serviceaccount:platform:topicform.apply" &&
      azurerm_federated_identity_credential.this["service/billing"].subject == "system:serviceaccount:platform:billing.v2"
    )
    error_message = "the subject keeps the service account's real name"
  }
}
