#!/usr/bin/env bash
# Zips each ETL function's binary as `bootstrap` into dist/<name>.zip, reproducibly
# (fixed timestamp and permissions: the same binary gives the same bytes), for
# environments/local. The deployer's `package` command takes this over for releases.
set -euo pipefail
cd "$(dirname "$0")/.."
dist="${DIST_DIR:-dist}"
mkdir -p "$dist"
scripts/cargo-build.sh
for name in extract transform load compensate; do
  python3 - "target/debug/$name" "$dist/$name.zip" <<'PY'
import sys, zipfile
binary, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
    info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(binary, "rb") as f:
        z.writestr(info, f.read())
PY
done
echo "package-functions: $(ls "$dist"/*.zip | tr '\n' ' ')"
