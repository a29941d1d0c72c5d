locals {
  sku_name = { standard = "Standard", premium = "Premium" }[var.sku]
  # The tier topicform's spec uses (`cluster.tier`).
  topicform_tier = var.dedicated_cluster_id != null ? "dedicated" : var.sku
  auto_inflate   = var.sku == "standard" && var.auto_inflate.enabled
}

resource "azurerm_eventhub_namespace" "this" {
  name                          = var.name
  resource_group_name           = var.resource_group_name
  location                      = var.location
  sku                           = local.sku_name
  capacity                      = var.capacity
  auto_inflate_enabled          = local.auto_inflate
  maximum_throughput_units      = local.auto_inflate ? var.auto_inflate.maximum_throughput_units : null
  dedicated_cluster_id          = var.dedicated_cluster_id
  local_authentication_enabled  = var.local_authentication_enabled
  public_network_access_enabled = var.public_network_access_enabled
  minimum_tls_version           = "1.2"
  tags                          = var.tags

  dynamic "network_rulesets" {
    for_each = var.network_rulesets == null ? [] : [var.network_rulesets]
    content {
      default_action                 = network_rulesets.value.default_action
      public_network_access_enabled  = var.public_network_access_enabled
      trusted_service_access_enabled = network_rulesets.value.trusted_service_access_enabled
      dynamic "ip_rule" {
        for_each = network_rulesets.value.ip_rules
        content {
          ip_mask = ip_rule.value
          action  = "Allow"
        }
      }
      dynamic "virtual_network_rule" {
        for_each = network_rulesets.value.subnet_ids
        content {
          subnet_id = virtual_network_rule.value
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.sku != "premium" || contains([1, 2, 4, 6, 8, 10, 12, 16], var.capacity)
      error_message = "premium capacity (processing units) must be 1, 2, 4, 6, 8, 10, 12 or 16."
    }
    precondition {
      condition     = !var.auto_inflate.enabled || var.sku == "standard"
      error_message = "auto_inflate is for the standard tier only (premium scales by processing units)."
    }
    precondition {
      condition     = !local.auto_inflate || var.auto_inflate.maximum_throughput_units >= var.capacity
      error_message = "auto_inflate.maximum_throughput_units must be at least capacity."
    }
    precondition {
      condition     = var.local_authentication_enabled || length(var.service_authorization_rules) == 0
      error_message = "service_authorization_rules need local_authentication_enabled = true (SAS rules are unusable without it)."
    }
  }
}

# topicform's PLAIN connection (`$ConnectionString`): Manage implies Send and
# Listen. Only with SAS; with Entra ID topicform uses the custom role of the
# workload-identity module instead.
resource "azurerm_eventhub_namespace_authorization_rule" "topicform" {
  count = var.local_authentication_enabled ? 1 : 0

  name                = var.topicform_authorization_rule_name
  namespace_name      = azurerm_eventhub_namespace.this.name
  resource_group_name = var.resource_group_name
  manage              = true
  send                = true
  listen              = true
}

# One rule per service, with only the rights it asked for.
resource "azurerm_eventhub_namespace_authorization_rule" "service" {
  for_each = var.local_authentication_enabled ? var.service_authorization_rules : {}

  name                = each.key
  namespace_name      = azurerm_eventhub_namespace.this.name
  resource_group_name = var.resource_group_name
  manage              = false
  send                = each.value.send
  listen              = each.value.listen
}
