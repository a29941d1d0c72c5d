terraform {
  # Terraform >= 1.9 and OpenTofu >= 1.8 (mock_provider tests need >= 1.7).
  required_version = ">= 1.8, < 2.0"

  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 3.2.1, < 4.0.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = ">= 3.1.2, < 4.0.0"
    }
  }
}
