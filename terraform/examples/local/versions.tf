terraform {
  required_version = ">= 1.8, < 2.0"

  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 3.2.1, < 4.0.0"
    }
    helm = {
      source = "hashicorp/helm"
      # 3.x: the provider block's `kubernetes = { ... }` is an attribute
      # (1.x and 2.x had a nested block). The versions tested: 3.1.2 here,
      # kubernetes 3.2.1 (deploy/tools/terraform.sh, deploy/test-k8s.sh).
      version = ">= 3.1.2, < 4.0.0"
    }
  }
}
