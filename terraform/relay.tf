# Relays: rooms, the HTTP API, shared links and the Phoenix socket
# (hubmesh serve --role relay), behind a Service and a TLS Ingress, scaled on
# CPU. They share the database (DATABASE_URL), the bus (NATS_URL), the files
# volume, HUBMESH_SECRET and the perms key.
resource "kubernetes_deployment_v1" "relay" {
  metadata {
    name      = "${var.name}-relay"
    namespace = local.namespace
    labels    = merge(local.labels, local.relay_selector)
  }

  spec {
    # The autoscaler owns the count after the first apply (lifecycle below).
    replicas = var.relay_min_replicas

    selector {
      match_labels = local.relay_selector
    }

    strategy {
      type = "RollingUpdate"
      rolling_update {
        # A new relay is ready before an old one starts draining.
        max_surge       = "1"
        max_unavailable = "0"
      }
    }

    template {
      metadata {
        labels = merge(local.labels, local.relay_selector)
      }

      spec {
        service_account_name             = var.service_account_name
        termination_grace_period_seconds = local.relay_termination_grace_seconds
        # Service links would put variables such as HUBMESH_RELAY_PORT into the
        # environment, and the server refuses to start on an unknown HUBMESH_*.
        enable_service_links = false

        security_context {
          run_as_non_root        = true
          run_as_user            = var.run_as_user
          run_as_group           = var.fs_group
          fs_group               = var.fs_group
          fs_group_change_policy = "OnRootMismatch"
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        topology_spread_constraint {
          max_skew           = 1
          topology_key       = "kubernetes.io/hostname"
          when_unsatisfiable = "ScheduleAnyway"
          label_selector {
            match_labels = local.relay_selector
          }
        }

        container {
          name              = "relay"
          image             = local.image
          image_pull_policy = var.image_pull_policy
          args              = ["serve", "--role", "relay"]

          port {
            name           = "http"
            container_port = var.relay_port
            protocol       = "TCP"
          }

          env {
            name  = "HUBMESH_ROLE"
            value = "relay"
          }
          env {
            name  = "HUBMESH_HOST"
            value = "0.0.0.0"
          }
          env {
            name  = "HUBMESH_PORT"
            value = tostring(var.relay_port)
          }
          env {
            name  = "HUBMESH_DATA_DIR"
            value = local.data_dir
          }
          env {
            name  = "HUBMESH_PUBLIC_URL"
            value = local.public_url
          }
          env {
            name  = "HUBMESH_LOG_LEVEL"
            value = var.log_level
          }
          env {
            name  = "HUBMESH_DRAIN_GRACE_MS"
            value = tostring(var.drain_grace_ms)
          }
          env {
            name  = "NATS_URL"
            value = local.nats_url
          }
          env {
            name = "DATABASE_URL"
            value_from {
              secret_key_ref {
                name = var.database_url_secret.name
                key  = var.database_url_secret.key
              }
            }
          }
          env {
            name = "HUBMESH_SECRET"
            value_from {
              secret_key_ref {
                name = var.hubmesh_secret.name
                key  = var.hubmesh_secret.key
              }
            }
          }
          dynamic "env" {
            for_each = var.metrics_auth == null ? [] : [var.metrics_auth]
            content {
              name = "HUBMESH_METRICS_TOKEN"
              value_from {
                secret_key_ref {
                  name = env.value.secret_name
                  key  = env.value.key
                }
              }
            }
          }
          dynamic "env" {
            for_each = var.extra_env
            content {
              name  = env.key
              value = env.value
            }
          }

          resources {
            requests = local.relay_resources.requests
            limits   = local.relay_resources.limits
          }

          # Migrations run before the node listens, so give the first start time.
          startup_probe {
            http_get {
              path = "/healthz"
              port = var.relay_port
            }
            period_seconds    = 5
            failure_threshold = 60
          }
          liveness_probe {
            http_get {
              path = "/healthz"
              port = var.relay_port
            }
            period_seconds    = 10
            timeout_seconds   = 3
            failure_threshold = 3
          }
          # 503 while starting and while draining; 200 (ready or degraded) otherwise.
          readiness_probe {
            http_get {
              path = "/readyz"
              port = var.relay_port
            }
            period_seconds    = 5
            timeout_seconds   = 3
            failure_threshold = 2
          }

          lifecycle {
            pre_stop {
              exec {
                command = ["sleep", tostring(var.prestop_delay_seconds)]
              }
            }
          }

          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
          }

          volume_mount {
            name       = "data"
            mount_path = local.data_dir
          }
          volume_mount {
            name       = "files"
            mount_path = "${local.data_dir}/files"
          }
          volume_mount {
            name       = "perms-key"
            mount_path = "${local.data_dir}/perms_key.pem"
            sub_path   = "perms_key.pem"
            read_only  = true
          }
          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
        }

        # The data directory itself holds nothing that must last: the secret
        # comes from HUBMESH_SECRET, the database is DATABASE_URL, uploads are
        # on the files claim and the perms key is the Secret's.
        volume {
          name = "data"
          empty_dir {}
        }
        volume {
          name = "files"
          persistent_volume_claim {
            claim_name = kubernetes_persistent_volume_claim_v1.files.metadata[0].name
          }
        }
        volume {
          name = "perms-key"
          secret {
            secret_name  = var.perms_key_secret.name
            default_mode = "0440"
            items {
              key  = var.perms_key_secret.key
              path = "perms_key.pem"
            }
          }
        }
        volume {
          name = "tmp"
          empty_dir {}
        }
      }
    }
  }

  lifecycle {
    ignore_changes = [spec[0].replicas]

    precondition {
      condition     = local.relay_termination_grace_seconds * 1000 > var.drain_grace_ms + var.prestop_delay_seconds * 1000
      error_message = "terminationGracePeriodSeconds must exceed the preStop delay plus HUBMESH_DRAIN_GRACE_MS."
    }
  }

  depends_on = [helm_release.nats]
}

resource "kubernetes_horizontal_pod_autoscaler_v2" "relay" {
  metadata {
    name      = "${var.name}-relay"
    namespace = local.namespace
    labels    = merge(local.labels, local.relay_selector)
  }

  spec {
    min_replicas = var.relay_min_replicas
    max_replicas = var.relay_max_replicas

    scale_target_ref {
      api_version = "apps/v1"
      kind        = "Deployment"
      name        = kubernetes_deployment_v1.relay.metadata[0].name
    }

    metric {
      type = "Resource"
      resource {
        name = "cpu"
        target {
          type                = "Utilization"
          average_utilization = var.relay_cpu_target_utilization
        }
      }
    }

    behavior {
      # Scaling down moves people (their relay drains), so do it slowly: one
      # pod at a time, after load has stayed low for five minutes.
      scale_down {
        stabilization_window_seconds = 300
        select_policy                = "Min"
        policy {
          type           = "Pods"
          value          = 1
          period_seconds = 120
        }
      }
      scale_up {
        stabilization_window_seconds = 0
        select_policy                = "Max"
        policy {
          type           = "Pods"
          value          = 2
          period_seconds = 60
        }
      }
    }
  }
}

resource "kubernetes_pod_disruption_budget_v1" "relay" {
  metadata {
    name      = "${var.name}-relay"
    namespace = local.namespace
    labels    = merge(local.labels, local.relay_selector)
  }

  spec {
    max_unavailable = tostring(var.relay_pdb_max_unavailable)
    selector {
      match_labels = local.relay_selector
    }
  }
}

resource "kubernetes_service_v1" "relay" {
  metadata {
    name      = "${var.name}-relay"
    namespace = local.namespace
    labels    = merge(local.labels, local.relay_selector)
  }

  spec {
    type     = "ClusterIP"
    selector = local.relay_selector

    port {
      name        = "http"
      port        = var.relay_port
      target_port = "http"
      protocol    = "TCP"
    }
  }
}

resource "kubernetes_ingress_v1" "relay" {
  metadata {
    name      = var.name
    namespace = local.namespace
    labels    = merge(local.labels, local.relay_selector)
    annotations = merge(
      var.ingress_annotations,
      var.tls.cert_manager_cluster_issuer == null ? {} : { "cert-manager.io/cluster-issuer" = var.tls.cert_manager_cluster_issuer },
    )
  }

  spec {
    ingress_class_name = var.ingress_class_name

    tls {
      hosts       = [var.host]
      secret_name = var.tls.secret_name
    }

    rule {
      host = var.host
      http {
        path {
          path      = "/"
          path_type = "Prefix"
          backend {
            service {
              name = kubernetes_service_v1.relay.metadata[0].name
              port {
                number = var.relay_port
              }
            }
          }
        }
      }
    }
  }
}
