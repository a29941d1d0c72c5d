terraform {
  required_version = ">= 1.8, < 2.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 5.2, < 6.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 1.13.4, < 3.0.0"
    }
    helm = {
      source = "hashicorp/helm"
      # The provider block below uses the nested `kubernetes { }` block of
      # helm provider 1.x and 2.x; 3.x changed it to an attribute.
      version = ">= 1.3.2, < 3.0.0"
    }
  }
}
