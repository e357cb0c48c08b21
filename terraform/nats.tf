# The cluster bus and the room leases (a JetStream key-value bucket): the
# official NATS chart as a JetStream cluster, one server per node where the
# scheduler can manage it. NATS_URL of every hubmesh container points here.
locals {
  nats_name = "${var.name}-nats"
  # The chart names its client Service after fullnameOverride.
  nats_url = "nats://${local.nats_name}.${local.namespace}.svc:4222"

  nats_values = {
    fullnameOverride = local.nats_name
    config = {
      cluster = {
        enabled  = true
        replicas = var.nats_replicas
      }
      jetstream = {
        enabled = true
        fileStore = {
          enabled = true
          pvc = {
            enabled          = true
            size             = var.nats_storage_size
            storageClassName = var.nats_storage_class
          }
        }
      }
    }
    podTemplate = {
      topologySpreadConstraints = {
        "kubernetes.io/hostname" = {
          maxSkew           = 1
          whenUnsatisfiable = "ScheduleAnyway"
        }
      }
    }
    natsBox = {
      enabled = false
    }
  }
}

resource "helm_release" "nats" {
  name       = local.nats_name
  namespace  = local.namespace
  repository = "https://nats-io.github.io/k8s/helm/charts/"
  chart      = "nats"
  version    = var.nats_chart_version

  values = [yamlencode(local.nats_values)]

  wait    = true
  timeout = 600
}
