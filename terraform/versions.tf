terraform {
  # 1.9 lets a variable's validation refer to other variables, which the port
  # checks need (the media range must clear the signaling and relay ports).
  required_version = ">= 1.9.0"

  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.23.0, < 4.0.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = ">= 2.12.0, < 4.0.0"
    }
  }
}
