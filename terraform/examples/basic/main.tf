# A whole hubmesh deployment on an existing cluster: relays behind an nginx
# Ingress with a cert-manager certificate, SFUs on the nodes labelled
# hubmesh.example.org/sfu=true, NATS from its chart, an external PostgreSQL.
terraform {
  required_version = ">= 1.9.0"

  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 3.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 3.0"
    }
  }
}

variable "kubeconfig_path" {
  type        = string
  description = "kubeconfig file of the target cluster."
  default     = "~/.kube/config"
}

variable "kube_context" {
  type        = string
  description = "Context in the kubeconfig to use; null uses its current context."
  default     = null
}

variable "image_repository" {
  type        = string
  description = "Repository the hubmesh image (ops/Containerfile) was pushed to."
}

variable "image_tag" {
  type        = string
  description = "Tag or digest (sha256:...) of the hubmesh image to run."
}

variable "host" {
  type        = string
  description = "Public host name, e.g. hubs.example.org; its DNS record points at the ingress controller."
}

variable "sfu_domain" {
  type        = string
  description = "Domain under which each SFU node gets a name <node name>.<sfu_domain> pointing at that node's public address."
}

provider "kubernetes" {
  config_path    = var.kubeconfig_path
  config_context = var.kube_context
}

provider "helm" {
  kubernetes = {
    config_path    = var.kubeconfig_path
    config_context = var.kube_context
  }
}

module "hubmesh" {
  source = "../.."

  namespace        = "hubmesh"
  image_repository = var.image_repository
  image_tag        = var.image_tag
  host             = var.host

  tls = {
    secret_name                 = "hubmesh-tls"
    cert_manager_cluster_issuer = "letsencrypt"
  }
  ingress_class_name = "nginx"
  ingress_annotations = {
    # Uploads go up to HUBMESH_MAX_UPLOAD_BYTES (150 MiB).
    "nginx.ingress.kubernetes.io/proxy-body-size"    = "151m"
    "nginx.ingress.kubernetes.io/proxy-read-timeout" = "120"
    "nginx.ingress.kubernetes.io/proxy-send-timeout" = "120"
  }

  # Made beforehand with kubectl (README.md beside this file).
  database_url_secret = { name = "hubmesh-db" }
  hubmesh_secret      = { name = "hubmesh-keys" }
  perms_key_secret    = { name = "hubmesh-keys" }

  relay_min_replicas = 2
  relay_max_replicas = 6
  files_storage_size = "100Gi"
  files_access_mode  = "ReadWriteMany"

  sfu_public_host   = "$(NODE_NAME).${var.sfu_domain}"
  sfu_node_selector = { "hubmesh.example.org/sfu" = "true" }

  extra_env = {
    HUBMESH_MAX_ROOM_SIZE = "30"
  }
}

output "public_url" {
  description = "Where people open hubmesh."
  value       = module.hubmesh.public_url
}

output "sfu_firewall" {
  description = "Ports to open to clients on the SFU nodes."
  value       = module.hubmesh.sfu_firewall
}
