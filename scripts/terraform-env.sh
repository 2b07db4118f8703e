# Sourced by the scripts that run Terraform: picks the CLI configuration kept in the
# repository. The filesystem mirror at /opt/tf-plugins is used where the machine
# ships it; elsewhere providers come from the registry into a shared plugin cache.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v terraform >/dev/null 2>&1 ||
  { echo "error: terraform is not on PATH: install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install)" >&2; exit 4; }
if [[ -d /opt/tf-plugins/registry.terraform.io ]]; then
  export TF_CLI_CONFIG_FILE="$ROOT/terraform/cli/mirror.tfrc"
else
  export TF_CLI_CONFIG_FILE="$ROOT/terraform/cli/registry.tfrc"
  export TF_PLUGIN_CACHE_DIR="$ROOT/.run/terraform/plugin-cache"
  mkdir -p "$TF_PLUGIN_CACHE_DIR"
fi
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
