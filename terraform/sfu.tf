# SFU processes (hubmesh serve --role sfu): voice and video, one per selected
# node, on the node's own network, because WebRTC media arrives on UDP ports
# of the node's address that clients reach directly (no Service, no Ingress).
# Each announces itself on the bus; relays place rooms on them and hand their
# address (HUBMESH_SFU_PUBLIC_HOST:HUBMESH_SFU_PORT) to clients.
resource "kubernetes_daemon_set_v1" "sfu" {
  count = var.sfu_enabled ? 1 : 0

  metadata {
    name      = "${var.name}-sfu"
    namespace = local.namespace
    labels    = merge(local.labels, local.sfu_selector)
  }

  spec {
    selector {
      match_labels = local.sfu_selector
    }

    strategy {
      type = "RollingUpdate"
      rolling_update {
        # Two SFUs cannot share a node's ports, so a node's old pod goes first.
        max_unavailable = "1"
      }
    }

    template {
      metadata {
        labels = merge(local.labels, local.sfu_selector)
      }

      spec {
        host_network = true
        # Resolve the NATS Service from the host network.
        dns_policy                       = "ClusterFirstWithHostNet"
        enable_service_links             = false
        node_selector                    = var.sfu_node_selector
        service_account_name             = var.service_account_name
        termination_grace_period_seconds = local.sfu_termination_grace_seconds

        security_context {
          run_as_non_root = true
          run_as_user     = var.run_as_user
          run_as_group    = var.fs_group
          fs_group        = var.fs_group
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        container {
          name              = "sfu"
          image             = local.image
          image_pull_policy = var.image_pull_policy
          args              = ["serve", "--role", "sfu"]

          # With the host network the media ports need no declaration; only
          # the signaling port is named, for the probes.
          port {
            name           = "signaling"
            container_port = var.sfu_signaling_port
            host_port      = var.sfu_signaling_port
            protocol       = "TCP"
          }

          # Plain names (not HUBMESH_*), referred to below as $(NODE_NAME) and $(HOST_IP).
          env {
            name = "NODE_NAME"
            value_from {
              field_ref {
                field_path = "spec.nodeName"
              }
            }
          }
          env {
            name = "HOST_IP"
            value_from {
              field_ref {
                field_path = "status.hostIP"
              }
            }
          }
          env {
            name  = "HUBMESH_ROLE"
            value = "sfu"
          }
          env {
            name  = "HUBMESH_HOST"
            value = "0.0.0.0"
          }
          env {
            name  = "HUBMESH_SFU_PORT"
            value = tostring(var.sfu_signaling_port)
          }
          env {
            name  = "HUBMESH_SFU_RTC_MIN_PORT"
            value = tostring(var.sfu_rtc_min_port)
          }
          env {
            name  = "HUBMESH_SFU_RTC_MAX_PORT"
            value = tostring(var.sfu_rtc_max_port)
          }
          env {
            name  = "HUBMESH_SFU_ANNOUNCED_IP"
            value = coalesce(var.sfu_announced_ip, "$(HOST_IP)")
          }
          env {
            name  = "HUBMESH_SFU_PUBLIC_HOST"
            value = var.sfu_public_host
          }
          env {
            name  = "HUBMESH_DATA_DIR"
            value = local.data_dir
          }
          env {
            name  = "HUBMESH_LOG_LEVEL"
            value = var.log_level
          }
          env {
            name  = "NATS_URL"
            value = local.nats_url
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
            requests = local.sfu_resources.requests
            limits   = local.sfu_resources.limits
          }

          # An SFU-only process answers GET /healthz on its signaling port.
          liveness_probe {
            http_get {
              path = "/healthz"
              port = var.sfu_signaling_port
            }
            initial_delay_seconds = 5
            period_seconds        = 10
            timeout_seconds       = 3
            failure_threshold     = 3
          }
          readiness_probe {
            http_get {
              path = "/healthz"
              port = var.sfu_signaling_port
            }
            period_seconds    = 5
            timeout_seconds   = 3
            failure_threshold = 2
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

        # The SFU keeps nothing but the perms key, which checks the relays' tokens.
        volume {
          name = "data"
          empty_dir {}
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

  depends_on = [helm_release.nats]
}
