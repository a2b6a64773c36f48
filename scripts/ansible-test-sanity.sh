#!/usr/bin/env bash
# ansible-test sanity only runs inside a collection. Copy the module and its module_utils into a
# throwaway collection (copies, not symlinks: links out of the tree fail its symlinks test) and run
# it there. Its per-test virtualenvs bootstrap pip through a download this network cannot reach,
# so a local stand-in for that script installs the pip wheel from PyPI's cache instead.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.venv/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

collection="$work/ansible_collections/openclaw_zoho/zoho_crm"
mkdir -p "$collection/plugins/modules" "$collection/plugins/module_utils"
cp "$root/module_utils/zoho_crm_oauth.py" "$collection/plugins/module_utils/"
sed 's/^from ansible\.module_utils\.zoho_crm_oauth import/from ansible_collections.openclaw_zoho.zoho_crm.plugins.module_utils.zoho_crm_oauth import/' \
  "$root/library/zoho_crm_token.py" > "$collection/plugins/modules/zoho_crm_token.py"
cat > "$collection/galaxy.yml" <<'YAML'
namespace: openclaw_zoho
name: zoho_crm
version: 1.0.0
readme: README.md
authors: [zoho_crm provisioning authors]
YAML
echo "Sanity-test copy of the zoho_crm module." > "$collection/README.md"
# Each ignored finding carries its reason in that file.
mkdir -p "$collection/tests/sanity"
cp "$root/tests/sanity/ignore-2.19.txt" "$collection/tests/sanity/"

# The pip that ansible-test 2.19 pins for its virtualenvs (get_venv_packages).
pip_version=24.2
cache="$HOME/.ansible/test/cache"
stand_in="$cache/get_pip_${pip_version//./_}.py"
if [[ ! -f $stand_in ]]; then
  mkdir -p "$cache/wheels"
  "$bin/pip" download --quiet --no-deps -d "$cache/wheels" "pip==$pip_version"
  cat > "$stand_in" <<PYTHON
# Stand-in for ansible-test's get-pip download: install pip from the wheel beside this file.
import glob, os, subprocess, sys
wheels = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wheels")
wheel = glob.glob(os.path.join(wheels, "pip-${pip_version}-*.whl"))[0]
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, os.path.join(wheel, "pip"), "install", "--no-index", "--find-links", wheels] + args))
PYTHON
fi

cd "$collection"
PATH="$bin:$PATH" "$bin/ansible-test" sanity --python "$("$bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" --color no "$@"
