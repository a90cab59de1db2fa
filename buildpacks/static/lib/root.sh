# shellcheck shell=bash
# Sourced by the static buildpack's bin scripts. static_root BUILD_DIR prints the folder to
# serve, relative to BUILD_DIR: static.json's "root" when it names one, else "." when index.html
# is at the top, else "public" when public/ exists, else ".". Exit 1 (message on stderr) when
# static.json is not valid JSON or its root is outside the app.
static_root() {
  local build_dir=$1 root=""
  if [ -f "$build_dir/static.json" ]; then
    root=$(python3 - "$build_dir/static.json" <<'PY'
import json, sys
try:
    with open(sys.argv[1]) as f:
        doc = json.load(f)
except (OSError, ValueError) as e:
    sys.exit(f"static.json is not valid JSON: {e}")
root = doc.get("root", "") if isinstance(doc, dict) else ""
if not isinstance(root, str):
    sys.exit('static.json: "root" must be a string')
print(root)
PY
) || return 1
  fi
  if [ -z "$root" ]; then
    if [ -f "$build_dir/index.html" ]; then root=.
    elif [ -d "$build_dir/public" ]; then root=public
    else root=.
    fi
  fi
  root=${root%/}; root=${root:-.}
  local abs_app abs_root
  abs_app=$(realpath -m "$build_dir") abs_root=$(realpath -m "$build_dir/$root")
  case $abs_root/ in
    "$abs_app"/*) ;;
    *) echo "static.json: root '$root' is outside the app" >&2; return 1 ;;
  esac
  printf '%s\n' "$root"
}
