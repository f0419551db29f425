#!/usr/bin/env bash
# Makes a Python virtualenv with Helm's Go SDK (PyPI helm-python-sdk, which
# bundles it as a shared library: no helm binary, no Go toolchain) and prints
# the path of its python. The chart's tests render and lint through it
# (e2e/scripts/helm.py). Idempotent and fast once installed.
#
#   BOXOFFICE_CACHE   where the venv lives (default /var/cache/boxoffice)
set -euo pipefail

HELM_SDK_VERSION=0.2.2
CACHE=${BOXOFFICE_CACHE:-/var/cache/boxoffice}
VENV="$CACHE/venv"
# Debian's interpreter (python3-venv), not whatever a version manager put first.
PYTHON=$(command -v /usr/bin/python3 || command -v python3)

installed() {
    "$VENV/bin/python" -c "import helm_python, sys; \
sys.exit(helm_python.__version__ != '$HELM_SDK_VERSION')" 2>/dev/null
}

mkdir -p "$CACHE"
# Tests run in parallel: one installer at a time.
exec 9>"$CACHE/venv.lock"
flock -w 600 9 || { echo "helm-venv.sh: $CACHE/venv.lock is held" >&2; exit 1; }
if ! installed; then
    echo "helm-venv.sh: installing helm-python-sdk $HELM_SDK_VERSION in $VENV" >&2
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" >&2
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "helm-python-sdk==$HELM_SDK_VERSION" >&2
    installed || { echo "helm-venv.sh: helm_python did not install" >&2; exit 1; }
fi
echo "$VENV/bin/python"
