# Offline: the azurerm provider is mocked (its schema still comes from the real
# binary in the mirror). Run from the module directory: `terraform test`.

mock_provider "azurerm" {
  mock_resource "azurerm_eventhub_namespace" {
    defaults = {
      id = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-etelios-prod/providers/Microsoft.EventHub/namespaces/etelios-prod"
    }
  }
  mock_resource "azurerm_eventhub_namespace_authorization_rule" {
    defaults = {
      primary_connection_string = "Endpoint=sb://etelios-prod.servicebus.windows.net/;SharedAccessKeyName=mock;SharedAccessKey=bW9jaw=="
    }
  }
}

variables {
  name                = "etelios-prod"
  resource_group_name = "rg-etelios-prod"
  location            = "westeurope"
}

run "premium_entra_only_by_default" {
  command = apply

  assert {
    condition     = azurerm_eventhub_namespace.this.sku == "Premium" && azurerm_eventhub_namespace.this.capacity == 1
    error_message = "default must be premium with 1 processing unit"
  }
  assert {
    condition     = azurerm_eventhub_namespace.this.minimum_tls_version == "1.2"
    error_message = "minimum TLS must be 1.2"
  }
  assert {
    condition     = !azurerm_eventhub_namespace.this.local_authentication_enabled && !azurerm_eventhub_namespace.this.public_network_access_enabled
    error_message = "SAS and public network access must default to off"
  }
  assert {
    condition     = length(azurerm_eventhub_namespace_authorization_rule.topicform) == 0 && length(azurerm_eventhub_namespace_authorization_rule.service) == 0
    error_message = "no authorization rule without SAS"
  }
  assert {
    condition     = output.bootstrap_server == "etelios-prod.servicebus.windows.net:9093"
    error_message = "bootstrap_server must be <ns>.servicebus.windows.net:9093, got ${output.bootstrap_server}"
  }
  assert {
    condition = output.topicform_cluster == {
      type           = "eventhubs"
      namespace      = "etelios-prod"
      tier           = "premium"
      capacity       = 1
      subscriptionId = "00000000-0000-0000-0000-000000000001"
      resourceGroup  = "rg-etelios-prod"
    }
    error_message = "topicform_cluster must be the spec's cluster block"
  }
  assert {
    condition     = output.topicform_connection_string == null
    error_message = "no connection string without SAS"
  }
}

run "standard_with_sas_and_service_rules" {
  command = apply

  variables {
    sku                           = "standard"
    capacity                      = 2
    auto_inflate                  = { enabled = true, maximum_throughput_units = 10 }
    local_authentication_enabled  = true
    public_network_access_enabled = true
    network_rulesets = {
      ip_rules   = ["203.0.113.0/24", "198.51.100.7"]
      subnet_ids = []
    }
    service_authorization_rules = {
      "auth-service"         = { send = true }
      "notification-service" = { listen = true }
    }
  }

  assert {
    condition     = azurerm_eventhub_namespace.this.sku == "Standard" && azurerm_eventhub_namespace.this.auto_inflate_enabled && azurerm_eventhub_namespace.this.maximum_throughput_units == 10
    error_message = "standard with auto-inflate to 10 TUs expected"
  }
  assert {
    condition     = azurerm_eventhub_namespace.this.network_rulesets[0].default_action == "Deny" && length(azurerm_eventhub_namespace.this.network_rulesets[0].ip_rule) == 2
    error_message = "network rules must deny by default and allow the two IP rules"
  }
  assert {
    condition = (
      azurerm_eventhub_namespace_authorization_rule.topicform[0].name == "topicform" &&
      azurerm_eventhub_namespace_authorization_rule.topicform[0].manage &&
      azurerm_eventhub_namespace_authorization_rule.topicform[0].send &&
      azurerm_eventhub_namespace_authorization_rule.topicform[0].listen
    )
    error_message = "topicform gets a Manage rule when SAS is on"
  }
  assert {
    condition = (
      azurerm_eventhub_namespace_authorization_rule.service["auth-service"].send &&
      !azurerm_eventhub_namespace_authorization_rule.service["auth-service"].listen &&
      !azurerm_eventhub_namespace_authorization_rule.service["auth-service"].manage &&
      azurerm_eventhub_namespace_authorization_rule.service["notification-service"].listen &&
      !azurerm_eventhub_namespace_authorization_rule.service["notification-service"].send
    )
    error_message = "service rules carry only the rights asked for"
  }
  assert {
    condition     = output.topicform_cluster.tier == "standard" && output.topicform_cluster.capacity == null
    error_message = "standard tier, no capacity in the spec's cluster block"
  }
  assert {
    condition     = issensitive(output.topicform_connection_string) && issensitive(output.service_connection_strings) && issensitive(output.resource)
    error_message = "connection strings and the resource must be sensitive outputs"
  }
  assert {
    condition     = startswith(nonsensitive(output.topicform_connection_string), "Endpoint=sb://") && length(output.service_connection_strings) == 2
    error_message = "connection strings come from the authorization rules"
  }
  assert {
    condition     = keys(output.authorization_rule_ids) == ["auth-service", "notification-service", "topicform"]
    error_message = "authorization_rule_ids keyed by rule name"
  }
}

run "dedicated_cluster_is_tier_dedicated" {
  command = plan

  variables {
    sku                  = "standard"
    dedicated_cluster_id = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.EventHub/clusters/ehc-prod"
  }

  assert {
    condition     = output.topicform_cluster.tier == "dedicated"
    error_message = "a namespace in a dedicated cluster is tier dedicated for topicform"
  }
}

run "rejects_short_name" {
  command = plan
  variables {
    name = "ab-1"
  }
  expect_failures = [var.name]
}

run "rejects_name_ending_in_hyphen" {
  command = plan
  variables {
    name = "etelios-prod-"
  }
  expect_failures = [var.name]
}

run "rejects_basic_tier" {
  command = plan
  variables {
    sku = "basic"
  }
  expect_failures = [var.sku]
}

run "rejects_capacity_out_of_range" {
  command = plan
  variables {
    capacity = 41
  }
  expect_failures = [var.capacity]
}

run "rejects_premium_capacity_3" {
  command = plan
  variables {
    capacity = 3
  }
  expect_failures = [azurerm_eventhub_namespace.this]
}

run "rejects_auto_inflate_on_premium" {
  command = plan
  variables {
    auto_inflate = { enabled = true }
  }
  expect_failures = [azurerm_eventhub_namespace.this]
}

run "rejects_service_rules_without_sas" {
  command = plan
  variables {
    service_authorization_rules = { "auth-service" = { send = true } }
  }
  expect_failures = [azurerm_eventhub_namespace.this]
}

run "rejects_service_rule_without_rights" {
  command = plan
  variables {
    local_authentication_enabled = true
    service_authorization_rules  = { "auth-service" = {} }
  }
  expect_failures = [var.service_authorization_rules]
}

run "rejects_bad_network_default_action" {
  command = plan
  variables {
    network_rulesets = { default_action = "Block" }
  }
  expect_failures = [var.network_rulesets]
}
