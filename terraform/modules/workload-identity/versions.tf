terraform {
  # Terraform >= 1.9 and OpenTofu >= 1.8 (mock_provider tests need >= 1.7).
  required_version = ">= 1.8, < 2.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 5.2, < 6.0"
    }
  }
}
