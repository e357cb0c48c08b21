# Constants of hubmesh and of Kubernetes that the variables are checked
# against. This file holds literals only, so the variable checks can be
# exercised without the providers.
locals {
  # Every environment variable the server reads (src/config.ts, configEnv; the
  # README's Configuration table). The server stops at start on any other
  # HUBMESH_* variable, so extra_env is checked against this list.
  app_settings = [
    "HUBMESH_HOST",
    "HUBMESH_PORT",
    "HUBMESH_DATA_DIR",
    "HUBMESH_SECRET",
    "HUBMESH_PUBLIC_URL",
    "HUBMESH_WEB_DIR",
    "HUBMESH_LOG_LEVEL",
    "HUBMESH_MAX_FRAME_BYTES",
    "HUBMESH_RATE_PER_SEC",
    "HUBMESH_RATE_BURST",
    "HUBMESH_IDLE_TIMEOUT_MS",
    "HUBMESH_MAX_CONNECTIONS_PER_IP",
    "HUBMESH_MAX_CHANNELS_PER_SOCKET",
    "HUBMESH_TRUSTED_PROXIES",
    "HUBMESH_HTTP_HEADERS_TIMEOUT_MS",
    "HUBMESH_HTTP_REQUEST_TIMEOUT_MS",
    "HUBMESH_ROOM_IDLE_MS",
    "HUBMESH_SOCKET_BUFFER_BYTES",
    "HUBMESH_SOCKET_BUFFER_MAX_BYTES",
    "HUBMESH_FLUSH_MAX_MS",
    "HUBMESH_DEFAULT_ROOM_SIZE",
    "HUBMESH_MAX_ROOM_SIZE",
    "HUBMESH_MAX_NAF_BYTES",
    "HUBMESH_MAX_ENTITIES_PER_SESSION",
    "HUBMESH_HANDOVER_LEAD_MS",
    "HUBMESH_MAX_UPLOAD_BYTES",
    "HUBMESH_UPLOAD_TTL_MS",
    "HUBMESH_NODE_DOWN_MS",
    "HUBMESH_LEASE_TTL_MS",
    "HUBMESH_DRAIN_GRACE_MS",
    "NATS_URL",
    "DATABASE_URL",
    "HUBMESH_AUTO_MIGRATE",
    "HUBMESH_PERMISSIVE_ROOMS",
    "HUBMESH_SIM_MODULES",
    "HUBMESH_SIM_MAX_BODIES",
    "HUBMESH_SIM_TICK_BUDGET_MS",
    "HUBMESH_SIM_SNAPSHOT_MS",
    "HUBMESH_SIM_IDLE_MS",
    "HUBMESH_CHAT_HISTORY",
    "HUBMESH_CREATE_HUB_PER_SEC",
    "HUBMESH_HTTP_RATE_PER_MIN",
    "HUBMESH_ACCOUNT_TOKEN_TTL_S",
    "HUBMESH_OIDC_ISSUER",
    "HUBMESH_OIDC_JWKS_URL",
    "HUBMESH_OIDC_AUDIENCE",
    "HUBMESH_ROLE",
    "HUBMESH_SFU_PUBLIC_HOST",
    "HUBMESH_SFU_PUBLIC_PORT",
    "HUBMESH_SFU_PORT",
    "HUBMESH_SFU_ANNOUNCED_IP",
    "HUBMESH_SFU_RTC_MIN_PORT",
    "HUBMESH_SFU_RTC_MAX_PORT",
    "HUBMESH_SFU_MAX_PRODUCERS_PER_PEER",
    "HUBMESH_SFU_MAX_VIDEO_PRODUCERS_PER_ROOM",
    "HUBMESH_SFU_MAX_CONSUMERS",
    "HUBMESH_SFU_MAX_INCOMING_BITRATE",
    "HUBMESH_SFU_ANNOUNCE_MS",
    "HUBMESH_METRICS_TOKEN",
  ]

  # Settings this module sets itself, from its own variables or from Secrets;
  # extra_env may not set them.
  managed_settings = [
    "HUBMESH_HOST",
    "HUBMESH_PORT",
    "HUBMESH_DATA_DIR",
    "HUBMESH_SECRET",
    "HUBMESH_PUBLIC_URL",
    "HUBMESH_LOG_LEVEL",
    "HUBMESH_DRAIN_GRACE_MS",
    "NATS_URL",
    "DATABASE_URL",
    "HUBMESH_ROLE",
    "HUBMESH_SFU_PUBLIC_HOST",
    "HUBMESH_SFU_PORT",
    "HUBMESH_SFU_ANNOUNCED_IP",
    "HUBMESH_SFU_RTC_MIN_PORT",
    "HUBMESH_SFU_RTC_MAX_PORT",
  ]

  # Settings that hold secrets: they come from Secrets (secret_key_ref), never
  # from extra_env, whose values would sit in the Terraform state.
  secret_settings = [
    "HUBMESH_SECRET",
    "DATABASE_URL",
    "HUBMESH_METRICS_TOKEN",
  ]

  # Kubernetes' default NodePort range (kube-apiserver --service-node-port-range).
  # On host-network SFU nodes kube-proxy owns these ports.
  node_port_min = 30000
  node_port_max = 32767

  # Where the image keeps its data (ops/Containerfile).
  data_dir = "/var/lib/hubmesh"
}
