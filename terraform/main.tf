locals {
  namespace  = var.create_namespace ? kubernetes_namespace_v1.this[0].metadata[0].name : var.namespace
  public_url = "https://${var.host}"
  image      = startswith(var.image_tag, "sha256:") ? "${var.image_repository}@${var.image_tag}" : "${var.image_repository}:${var.image_tag}"

  labels = {
    "app.kubernetes.io/name"       = "hubmesh"
    "app.kubernetes.io/instance"   = var.name
    "app.kubernetes.io/managed-by" = "terraform"
  }
  relay_selector = {
    "app.kubernetes.io/name"      = "hubmesh"
    "app.kubernetes.io/instance"  = var.name
    "app.kubernetes.io/component" = "relay"
  }
  sfu_selector = {
    "app.kubernetes.io/name"      = "hubmesh"
    "app.kubernetes.io/instance"  = var.name
    "app.kubernetes.io/component" = "sfu"
  }

  # Kubernetes sends SIGTERM after the preStop hook; the node then waits the
  # drain grace before it closes sockets and shuts down in order. The grace
  # period covers all three, so the kill never cuts a drain short.
  relay_termination_grace_seconds = var.prestop_delay_seconds + ceil(var.drain_grace_ms / 1000) + var.shutdown_margin_seconds
  # An SFU process closes at once on SIGTERM (it has no drain grace).
  sfu_termination_grace_seconds = var.shutdown_margin_seconds

  relay_resources = {
    requests = { for k, v in { cpu = var.relay_resources.cpu_request, memory = var.relay_resources.memory_request } : k => v if v != null }
    limits   = { for k, v in { cpu = var.relay_resources.cpu_limit, memory = var.relay_resources.memory_limit } : k => v if v != null }
  }
  sfu_resources = {
    requests = { for k, v in { cpu = var.sfu_resources.cpu_request, memory = var.sfu_resources.memory_request } : k => v if v != null }
    limits   = { for k, v in { cpu = var.sfu_resources.cpu_limit, memory = var.sfu_resources.memory_limit } : k => v if v != null }
  }
}

resource "kubernetes_namespace_v1" "this" {
  count = var.create_namespace ? 1 : 0

  metadata {
    name   = var.namespace
    labels = local.labels
  }
}
