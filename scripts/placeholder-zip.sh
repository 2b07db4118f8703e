#!/usr/bin/env bash
# Rebuilds the placeholder package the Terraform modules create every function and hook
# with (terraform/modules/{etl-workflow,traffic-shifting}/placeholder/bootstrap.zip)
# from terraform/modules/etl-workflow/placeholder/bootstrap. Each module carries its
# own copy so that it stays usable on its own. The zip is reproducible (fixed
# timestamp and permissions): rerunning this changes nothing unless the script did.
# tests/e2e/tests/terraform.rs checks that the committed zips hold exactly the script.
set -euo pipefail
cd "$(dirname "$0")/.."
source_script=terraform/modules/etl-workflow/placeholder/bootstrap
for module in etl-workflow traffic-shifting; do
  dir="terraform/modules/$module/placeholder"
  mkdir -p "$dir"
  [[ "$dir/bootstrap" -ef "$source_script" ]] || install -m 0755 "$source_script" "$dir/bootstrap"
  python3 - "$source_script" "$dir/bootstrap.zip" <<'PY'
import sys, zipfile
source, target = sys.argv[1], sys.argv[2]
info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = 0o100755 << 16  # a regular file, rwxr-xr-x: Lambda runs it
info.create_system = 3  # Unix, so that the permissions above are read
info.compress_type = zipfile.ZIP_DEFLATED
with open(source, "rb") as f, zipfile.ZipFile(target, "w") as z:
    z.writestr(info, f.read(), compresslevel=9)
PY
  echo "placeholder-zip: wrote $dir/bootstrap.zip"
done
