# ---------------------------------------------------------------------------
# Naming and image
# ---------------------------------------------------------------------------

variable "name" {
  type        = string
  description = "Prefix of every object's name (Deployments, Services, the NATS release, the PVC) and the app.kubernetes.io/instance label."
  default     = "hubmesh"

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", var.name))
    error_message = "name must be a DNS label of at most 40 characters: lowercase letters, digits and '-', starting with a letter."
  }
}

variable "namespace" {
  type        = string
  description = "Namespace to deploy into. The Secrets named by database_url_secret, hubmesh_secret, perms_key_secret and tls must exist in it (or be made there by cert-manager)."
  default     = "hubmesh"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS label: lowercase letters, digits and '-', at most 63 characters."
  }
}

variable "create_namespace" {
  type        = bool
  description = "Create the namespace. Leave false when the namespace and its Secrets are made beforehand (the usual order: the pods cannot start without the Secrets)."
  default     = false
}

variable "image_repository" {
  type        = string
  description = "Repository of the hubmesh image built from ops/Containerfile (one image for every role), without tag, e.g. registry.example.org/hubmesh."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._/:-]*[a-z0-9]$", var.image_repository)) && !can(regex("@", var.image_repository))
    error_message = "image_repository must be an image reference without tag or digest (lowercase, digits, '.', '_', '-', '/', and ':' only for a registry port)."
  }
}

variable "image_tag" {
  type        = string
  description = "Tag of the image, or a digest (sha256:...) to pin it exactly."

  validation {
    condition     = can(regex("^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|sha256:[a-f0-9]{64})$", var.image_tag))
    error_message = "image_tag must be a tag (letters, digits, '_', '.', '-', at most 128 characters) or a digest sha256:<64 hex digits>."
  }
}

variable "image_pull_policy" {
  type        = string
  description = "imagePullPolicy of the hubmesh containers."
  default     = "IfNotPresent"

  validation {
    condition     = contains(["Always", "IfNotPresent", "Never"], var.image_pull_policy)
    error_message = "image_pull_policy must be Always, IfNotPresent or Never."
  }
}

variable "service_account_name" {
  type        = string
  description = "Service account the hubmesh pods run as; null uses the namespace's default. Give it imagePullSecrets for a private registry."
  default     = null

  validation {
    condition     = var.service_account_name == null || can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.service_account_name))
    error_message = "service_account_name must be a DNS subdomain name."
  }
}

variable "run_as_user" {
  type        = number
  description = "UID the containers run as. The image's user is node (1000); it must not be root."
  default     = 1000

  validation {
    condition     = var.run_as_user > 0 && floor(var.run_as_user) == var.run_as_user
    error_message = "run_as_user must be a positive integer: hubmesh does not run as root."
  }
}

variable "fs_group" {
  type        = number
  description = "GID that owns the volumes (fsGroup) and the containers' group, so the files volume is writable and the perms key readable by run_as_user."
  default     = 1000

  validation {
    condition     = var.fs_group > 0 && floor(var.fs_group) == var.fs_group
    error_message = "fs_group must be a positive integer."
  }
}

# ---------------------------------------------------------------------------
# Public address and TLS
# ---------------------------------------------------------------------------

variable "host" {
  type        = string
  description = "Public host name of the relays, e.g. hubs.example.org: the Ingress rule, its TLS host and HUBMESH_PUBLIC_URL (https://<host>)."

  validation {
    condition     = can(regex("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.host)) && length(var.host) <= 253
    error_message = "host must be a fully qualified lowercase DNS name (no scheme, port or path)."
  }
}

variable "tls" {
  type = object({
    secret_name                 = string
    cert_manager_cluster_issuer = optional(string)
  })
  description = "TLS of the Ingress: secret_name is the kubernetes.io/tls Secret holding the certificate for host; with cert_manager_cluster_issuer set, the Ingress is annotated cert-manager.io/cluster-issuer and cert-manager writes that Secret, otherwise it must exist."

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.tls.secret_name))
    error_message = "tls.secret_name must be a Secret name (a DNS subdomain)."
  }

  validation {
    condition     = var.tls.cert_manager_cluster_issuer == null || can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.tls.cert_manager_cluster_issuer))
    error_message = "tls.cert_manager_cluster_issuer must be the name of a ClusterIssuer, or null."
  }
}

variable "ingress_class_name" {
  type        = string
  description = "IngressClass of the relay Ingress (e.g. nginx); null uses the cluster's default class."
  default     = null
}

variable "ingress_annotations" {
  type        = map(string)
  description = "Extra annotations of the relay Ingress, e.g. the controller's request body limit, which must allow uploads of HUBMESH_MAX_UPLOAD_BYTES (150 MiB), and its websocket timeouts, which must exceed the 30 s Phoenix heartbeat."
  default     = {}
}

# ---------------------------------------------------------------------------
# Relays
# ---------------------------------------------------------------------------

variable "relay_port" {
  type        = number
  description = "HTTP and websocket port of the relays (HUBMESH_PORT). The Service and the Ingress use it too."
  default     = 4000

  validation {
    condition     = var.relay_port >= 1024 && var.relay_port <= 65535 && floor(var.relay_port) == var.relay_port
    error_message = "relay_port must be an integer from 1024 to 65535 (the container runs as a non-root user)."
  }
}

variable "relay_min_replicas" {
  type        = number
  description = "Fewest relay pods the autoscaler keeps."
  default     = 2

  validation {
    condition     = var.relay_min_replicas >= 1 && floor(var.relay_min_replicas) == var.relay_min_replicas
    error_message = "relay_min_replicas must be an integer of at least 1."
  }
}

variable "relay_max_replicas" {
  type        = number
  description = "Most relay pods the autoscaler may run."
  default     = 6

  validation {
    condition     = floor(var.relay_max_replicas) == var.relay_max_replicas && var.relay_max_replicas >= var.relay_min_replicas
    error_message = "relay_max_replicas must be an integer no smaller than relay_min_replicas."
  }
}

variable "relay_cpu_target_utilization" {
  type        = number
  description = "Average CPU use of the relays, in percent of their CPU request, that the autoscaler aims for."
  default     = 70

  validation {
    condition     = var.relay_cpu_target_utilization >= 10 && var.relay_cpu_target_utilization <= 100
    error_message = "relay_cpu_target_utilization must be from 10 to 100 (percent)."
  }
}

variable "relay_resources" {
  type = object({
    cpu_request    = optional(string, "500m")
    memory_request = optional(string, "512Mi")
    cpu_limit      = optional(string)
    memory_limit   = optional(string, "1Gi")
  })
  description = "Resources of each relay container. The CPU request is what the autoscaler's utilization is measured against; a CPU limit is left off by default, since throttling delays every room on the pod."
  default     = {}

  validation {
    condition = alltrue([
      for q in [var.relay_resources.cpu_request, var.relay_resources.memory_request, var.relay_resources.cpu_limit, var.relay_resources.memory_limit] :
      q == null || can(regex("^[0-9]+(\\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$", q))
    ]) && var.relay_resources.cpu_request != null
    error_message = "relay_resources must hold Kubernetes quantities (e.g. 500m, 1, 512Mi), and cpu_request is required by the CPU autoscaler."
  }
}

variable "relay_pdb_max_unavailable" {
  type        = number
  description = "Relay pods a voluntary disruption (node drain, upgrade) may take down at once (PodDisruptionBudget maxUnavailable). Each one drains: its clients are told to move to another node."
  default     = 1

  validation {
    condition     = var.relay_pdb_max_unavailable >= 1 && floor(var.relay_pdb_max_unavailable) == var.relay_pdb_max_unavailable
    error_message = "relay_pdb_max_unavailable must be an integer of at least 1."
  }
}

variable "drain_grace_ms" {
  type        = number
  description = "HUBMESH_DRAIN_GRACE_MS: on SIGTERM a relay tells its clients to move (ret-deploy) and waits this long before closing their sockets. The pods' terminationGracePeriodSeconds is derived from it and always exceeds it."
  default     = 10000

  validation {
    condition     = var.drain_grace_ms >= 0 && var.drain_grace_ms <= 600000 && floor(var.drain_grace_ms) == var.drain_grace_ms
    error_message = "drain_grace_ms must be an integer from 0 to 600000 (10 minutes)."
  }
}

variable "prestop_delay_seconds" {
  type        = number
  description = "Seconds a terminating relay keeps serving before it gets SIGTERM, so the Ingress and Service stop sending it new connections first (0 sends SIGTERM at once)."
  default     = 5

  validation {
    condition     = var.prestop_delay_seconds >= 0 && var.prestop_delay_seconds <= 60 && floor(var.prestop_delay_seconds) == var.prestop_delay_seconds
    error_message = "prestop_delay_seconds must be an integer from 0 to 60."
  }
}

variable "shutdown_margin_seconds" {
  type        = number
  description = "Seconds allowed after the drain grace for the ordered shutdown (close sockets, release room leases, stop rooms, close the bus and the database) before Kubernetes kills the process."
  default     = 15

  validation {
    condition     = var.shutdown_margin_seconds >= 5 && var.shutdown_margin_seconds <= 300 && floor(var.shutdown_margin_seconds) == var.shutdown_margin_seconds
    error_message = "shutdown_margin_seconds must be an integer from 5 to 300."
  }
}

variable "log_level" {
  type        = string
  description = "HUBMESH_LOG_LEVEL of every hubmesh container."
  default     = "info"

  validation {
    condition     = contains(["fatal", "error", "warn", "info", "debug", "trace", "silent"], var.log_level)
    error_message = "log_level must be fatal, error, warn, info, debug, trace or silent."
  }
}

variable "extra_env" {
  type        = map(string)
  description = "Further settings for every hubmesh container, by environment variable name (README, Configuration), e.g. { HUBMESH_MAX_ROOM_SIZE = \"30\" }. Plain values only: never put a secret here. Names the module sets itself are refused."
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.extra_env) : contains(local.app_settings, k)])
    error_message = "extra_env may only name settings hubmesh reads (README, Configuration): the server refuses to start on an unknown HUBMESH_* variable."
  }

  validation {
    condition     = alltrue([for k in keys(var.extra_env) : !contains(local.secret_settings, k)])
    error_message = "extra_env may not hold HUBMESH_SECRET, DATABASE_URL or HUBMESH_METRICS_TOKEN: secrets come from Kubernetes Secrets (hubmesh_secret, database_url_secret, metrics_auth), so their values never enter the Terraform state."
  }

  validation {
    condition     = alltrue([for k in keys(var.extra_env) : !contains(local.managed_settings, k)])
    error_message = "extra_env may not set HUBMESH_HOST, HUBMESH_PORT, HUBMESH_DATA_DIR, HUBMESH_SECRET, HUBMESH_PUBLIC_URL, HUBMESH_LOG_LEVEL, HUBMESH_DRAIN_GRACE_MS, NATS_URL, DATABASE_URL, HUBMESH_ROLE or the HUBMESH_SFU_* addresses and ports: the module sets those from its own variables."
  }
}

# ---------------------------------------------------------------------------
# Secrets (references only: their values never pass through Terraform)
# ---------------------------------------------------------------------------

variable "database_url_secret" {
  type = object({
    name = string
    key  = optional(string, "DATABASE_URL")
  })
  description = "The Secret (and key in it) holding DATABASE_URL, postgres://user:password@host:5432/db of an external PostgreSQL shared by every relay."

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.database_url_secret.name)) && can(regex("^[-._a-zA-Z0-9]+$", var.database_url_secret.key))
    error_message = "database_url_secret.name must be a Secret name and key a valid Secret key."
  }
}

variable "hubmesh_secret" {
  type = object({
    name = string
    key  = optional(string, "HUBMESH_SECRET")
  })
  description = "The Secret (and key in it) holding HUBMESH_SECRET (at least 32 characters), which signs session and account tokens. Every node must share it."

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.hubmesh_secret.name)) && can(regex("^[-._a-zA-Z0-9]+$", var.hubmesh_secret.key))
    error_message = "hubmesh_secret.name must be a Secret name and key a valid Secret key."
  }
}

variable "perms_key_secret" {
  type = object({
    name = string
    key  = optional(string, "perms_key.pem")
  })
  description = "The Secret (and key in it) holding the RSA private key (PEM) that signs perms tokens on the relays and checks them on the SFUs. It is mounted as perms_key.pem in the data directory of every node."

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.perms_key_secret.name)) && can(regex("^[-._a-zA-Z0-9]+$", var.perms_key_secret.key))
    error_message = "perms_key_secret.name must be a Secret name and key a valid Secret key."
  }
}

variable "metrics_auth" {
  type = object({
    secret_name = string
    key         = optional(string, "HUBMESH_METRICS_TOKEN")
  })
  description = "The Secret (and key in it) holding HUBMESH_METRICS_TOKEN (at least 16 characters), the bearer token GET /metrics then requires on relays and SFUs. null leaves /metrics open, and the relays' /metrics is reachable through the Ingress."
  default     = null

  validation {
    condition     = var.metrics_auth == null || (can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.metrics_auth.secret_name)) && can(regex("^[-._a-zA-Z0-9]+$", var.metrics_auth.key)))
    error_message = "metrics_auth.secret_name must be a Secret name and key a valid Secret key, or metrics_auth null."
  }
}

# ---------------------------------------------------------------------------
# File storage
# ---------------------------------------------------------------------------

variable "files_storage_size" {
  type        = string
  description = "Size of the PersistentVolumeClaim holding uploads (the files/ directory of the data directory)."
  default     = "50Gi"

  validation {
    condition     = can(regex("^[1-9][0-9]*(Mi|Gi|Ti)$", var.files_storage_size))
    error_message = "files_storage_size must be a whole number of Mi, Gi or Ti, e.g. 50Gi."
  }
}

variable "files_storage_class" {
  type        = string
  description = "StorageClass of the files PersistentVolumeClaim; null uses the cluster's default class."
  default     = null
}

variable "files_access_mode" {
  type        = string
  description = "Access mode of the files PersistentVolumeClaim. Every relay reads and writes uploads, so more than one relay needs ReadWriteMany (NFS, CephFS, EFS, Filestore...)."
  default     = "ReadWriteMany"

  validation {
    condition     = contains(["ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"], var.files_access_mode)
    error_message = "files_access_mode must be ReadWriteMany, ReadWriteOnce or ReadWriteOncePod."
  }

  validation {
    condition     = var.files_access_mode == "ReadWriteMany" || var.relay_max_replicas == 1
    error_message = "Relays on several nodes share the files volume: with relay_max_replicas above 1, files_access_mode must be ReadWriteMany."
  }
}

# ---------------------------------------------------------------------------
# SFU nodes
# ---------------------------------------------------------------------------

variable "sfu_enabled" {
  type        = bool
  description = "Run SFU processes (voice and video), one per selected node, on the host network."
  default     = true
}

variable "sfu_public_host" {
  type        = string
  description = "HUBMESH_SFU_PUBLIC_HOST: the name clients open the SFU's signaling websocket at (wss://<name>:<sfu_signaling_port> under an https page). Each SFU node needs its own name: write $(NODE_NAME) where the node's name goes, e.g. $(NODE_NAME).sfu.example.org, and give each node that DNS record. Required when sfu_enabled."
  default     = null

  validation {
    condition     = !var.sfu_enabled || var.sfu_public_host != null
    error_message = "sfu_public_host is required when sfu_enabled is true."
  }

  validation {
    condition     = var.sfu_public_host == null || can(regex("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", replace(coalesce(var.sfu_public_host, "x"), "$(NODE_NAME)", "node")))
    error_message = "sfu_public_host must be a lowercase DNS name, in which $(NODE_NAME) may stand for the node's name."
  }
}

variable "sfu_announced_ip" {
  type        = string
  description = "HUBMESH_SFU_ANNOUNCED_IP: the IPv4 address the SFUs offer in their ICE candidates. null takes each node's own address (status.hostIP), right when nodes have public addresses; set it when they sit behind one public address (1:1 NAT with one SFU node)."
  default     = null

  validation {
    condition     = var.sfu_announced_ip == null || can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$", var.sfu_announced_ip))
    error_message = "sfu_announced_ip must be an IPv4 address, or null."
  }
}

variable "sfu_signaling_port" {
  type        = number
  description = "HUBMESH_SFU_PORT: TCP port of the SFU's signaling websocket (and GET /healthz) on each SFU node's own address. Open it in the nodes' firewall."
  default     = 4443

  validation {
    condition     = var.sfu_signaling_port >= 1024 && var.sfu_signaling_port <= 65535 && floor(var.sfu_signaling_port) == var.sfu_signaling_port
    error_message = "sfu_signaling_port must be an integer from 1024 to 65535 (the container runs as a non-root user)."
  }

  validation {
    condition     = var.sfu_signaling_port < local.node_port_min || var.sfu_signaling_port > local.node_port_max
    error_message = "sfu_signaling_port must lie outside the NodePort range 30000-32767, which kube-proxy holds on every node."
  }

  validation {
    condition     = var.sfu_signaling_port != var.relay_port
    error_message = "sfu_signaling_port must differ from relay_port."
  }
}

variable "sfu_rtc_min_port" {
  type        = number
  description = "HUBMESH_SFU_RTC_MIN_PORT: lowest UDP port of the SFU media range, bound on each SFU node's own address. Open the range in the nodes' firewall."
  default     = 40000

  validation {
    condition     = var.sfu_rtc_min_port >= 1024 && var.sfu_rtc_min_port <= 65535 && floor(var.sfu_rtc_min_port) == var.sfu_rtc_min_port
    error_message = "sfu_rtc_min_port must be an integer from 1024 to 65535."
  }
}

variable "sfu_rtc_max_port" {
  type        = number
  description = "HUBMESH_SFU_RTC_MAX_PORT: highest UDP port of the SFU media range. Each WebRTC transport takes one port and a peer uses two (send and receive), so the range bounds the peers one SFU node can serve."
  default     = 49999

  validation {
    condition     = var.sfu_rtc_max_port <= 65535 && floor(var.sfu_rtc_max_port) == var.sfu_rtc_max_port
    error_message = "sfu_rtc_max_port must be an integer of at most 65535."
  }

  validation {
    condition     = var.sfu_rtc_max_port - var.sfu_rtc_min_port + 1 >= 100
    error_message = "sfu_rtc_max_port must be at least sfu_rtc_min_port + 99: the media range needs room for two ports per peer."
  }

  # The checks of the whole range sit on this variable only: Terraform refuses
  # validations of two variables that refer to each other.
  validation {
    condition     = var.sfu_rtc_max_port < local.node_port_min || var.sfu_rtc_min_port > local.node_port_max
    error_message = "The SFU media range (sfu_rtc_min_port-sfu_rtc_max_port) must not overlap the NodePort range 30000-32767."
  }

  validation {
    condition     = var.sfu_signaling_port < var.sfu_rtc_min_port || var.sfu_signaling_port > var.sfu_rtc_max_port
    error_message = "The SFU media range (sfu_rtc_min_port-sfu_rtc_max_port) must not contain sfu_signaling_port."
  }

  validation {
    condition     = var.relay_port < var.sfu_rtc_min_port || var.relay_port > var.sfu_rtc_max_port
    error_message = "The SFU media range (sfu_rtc_min_port-sfu_rtc_max_port) must not contain relay_port."
  }
}

variable "sfu_node_selector" {
  type        = map(string)
  description = "Node labels that choose the SFU nodes (one SFU per node); empty runs one on every node. Pick nodes with a public address and the signaling and media ports open."
  default     = {}
}

variable "sfu_resources" {
  type = object({
    cpu_request    = optional(string, "1")
    memory_request = optional(string, "512Mi")
    cpu_limit      = optional(string)
    memory_limit   = optional(string, "2Gi")
  })
  description = "Resources of each SFU container. Media forwarding is CPU-bound and late packets are lost packets, so no CPU limit by default."
  default     = {}

  validation {
    condition = alltrue([
      for q in [var.sfu_resources.cpu_request, var.sfu_resources.memory_request, var.sfu_resources.cpu_limit, var.sfu_resources.memory_limit] :
      q == null || can(regex("^[0-9]+(\\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$", q))
    ])
    error_message = "sfu_resources must hold Kubernetes quantities (e.g. 1, 500m, 2Gi)."
  }
}

# ---------------------------------------------------------------------------
# NATS (cluster bus and room leases)
# ---------------------------------------------------------------------------

variable "nats_chart_version" {
  type        = string
  description = "Version of the official NATS Helm chart (chart nats of https://nats-io.github.io/k8s/helm/charts/), pinned so an apply never upgrades the bus unasked."
  default     = "2.14.2"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.nats_chart_version))
    error_message = "nats_chart_version must be an exact version (x.y.z), not a range."
  }
}

variable "nats_replicas" {
  type        = number
  description = "NATS servers in the JetStream cluster. Room leases live in a JetStream key-value bucket, whose quorum needs an odd number of servers: 3 survives the loss of one."
  default     = 3

  validation {
    condition     = contains([3, 5], var.nats_replicas)
    error_message = "nats_replicas must be 3 or 5."
  }
}

variable "nats_storage_size" {
  type        = string
  description = "Size of each NATS server's JetStream file store (one PersistentVolumeClaim per server)."
  default     = "10Gi"

  validation {
    condition     = can(regex("^[1-9][0-9]*(Mi|Gi|Ti)$", var.nats_storage_size))
    error_message = "nats_storage_size must be a whole number of Mi, Gi or Ti, e.g. 10Gi."
  }
}

variable "nats_storage_class" {
  type        = string
  description = "StorageClass of the NATS JetStream volumes; null uses the cluster's default class."
  default     = null
}
