output "public_url" {
  description = "Where people open hubmesh: https://<host> (also the relays' HUBMESH_PUBLIC_URL)."
  value       = local.public_url
}

output "namespace" {
  description = "Namespace everything was deployed into."
  value       = local.namespace
}

output "relay_deployment_name" {
  description = "Name of the relay Deployment (kubectl rollout status deployment/<name>)."
  value       = kubernetes_deployment_v1.relay.metadata[0].name
}

output "relay_service_name" {
  description = "Name of the relay ClusterIP Service, on relay_port."
  value       = kubernetes_service_v1.relay.metadata[0].name
}

output "relay_port" {
  description = "HTTP and websocket port of the relays (HUBMESH_PORT)."
  value       = var.relay_port
}

output "ingress_name" {
  description = "Name of the relay Ingress."
  value       = kubernetes_ingress_v1.relay.metadata[0].name
}

output "sfu_daemonset_name" {
  description = "Name of the SFU DaemonSet, or null when sfu_enabled is false."
  value       = var.sfu_enabled ? kubernetes_daemon_set_v1.sfu[0].metadata[0].name : null
}

output "sfu_firewall" {
  description = "What the SFU nodes' firewall must let in from clients: TCP signaling_port and UDP rtc_min_port-rtc_max_port."
  value = {
    signaling_port = var.sfu_signaling_port
    rtc_min_port   = var.sfu_rtc_min_port
    rtc_max_port   = var.sfu_rtc_max_port
  }
}

output "nats_url" {
  description = "NATS_URL the hubmesh containers use (the chart's client Service)."
  value       = local.nats_url
}

output "nats_release_name" {
  description = "Name of the NATS Helm release."
  value       = helm_release.nats.name
}

output "files_pvc_name" {
  description = "Name of the PersistentVolumeClaim holding uploads; back it up with the database."
  value       = kubernetes_persistent_volume_claim_v1.files.metadata[0].name
}
