# Uploads (HUBMESH_DATA_DIR/files). Every relay mounts the same claim, so a
# file uploaded through one relay is served by any other.
resource "kubernetes_persistent_volume_claim_v1" "files" {
  metadata {
    name      = "${var.name}-files"
    namespace = local.namespace
    labels    = local.labels
  }

  spec {
    access_modes       = [var.files_access_mode]
    storage_class_name = var.files_storage_class

    resources {
      requests = {
        storage = var.files_storage_size
      }
    }
  }

  # Classes that bind on first use (WaitForFirstConsumer) bind only once a
  # relay pod is scheduled, which comes after this claim.
  wait_until_bound = false
}
