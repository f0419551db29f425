#!/usr/bin/env bash
# Builds the Kubernetes 1.20.2 control plane (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl) from Debian bookworm's
# source package and caches the four binaries outside the checkout.
#
# No container registry or release download is reachable here, so Debian's
# own source package is the only way to a real API server. A warm run only
# checks the runtime packages and the cache, and takes a second or two.
#
#   BOXOFFICE_CACHE   where the binaries live (default /var/cache/boxoffice)
#
# Prints the bin directory on its last line.
set -euo pipefail

K8S_VERSION=1.20.2
CACHE=${BOXOFFICE_CACHE:-/var/cache/boxoffice}
PREFIX="$CACHE/kubernetes-$K8S_VERSION"
BIN="$PREFIX/bin"
WORK="$PREFIX/work"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

# What up.sh needs at run time; checked on every run, because a fresh machine
# may come with a warm cache copied over but without these packages.
RUNTIME_PACKAGES=(etcd-server openssl curl python3 postgresql-15 util-linux procps)
BUILD_PACKAGES=(golang-go rsync golang-github-modern-go-reflect2-dev dpkg-dev make)

started=$SECONDS
log() { printf '[build %3ds] %s\n' "$((SECONDS - started))" "$*" >&2; }

# Installs the packages that are not installed yet; runs `apt-get update`
# only when something is missing, so a warm run stays offline and fast.
apt_updated=false
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' \
            || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing ${missing[*]}"
    if ! $apt_updated; then
        apt-get update -qq
        apt_updated=true
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# `apt-get source` needs a deb-src entry for bookworm main; the image ships
# only binary ones. Asking apt itself (rather than grepping sources files)
# also catches an entry that exists but whose lists were never fetched.
kubernetes_source_known() {
    apt-cache showsrc kubernetes 2>/dev/null | grep -q '^Package: kubernetes$'
}
ensure_deb_src() {
    kubernetes_source_known && return 0
    local file=/etc/apt/sources.list.d/boxoffice-deb-src.sources
    if [[ ! -f "$file" ]]; then
        log "adding a deb-src entry for bookworm main ($file)"
        cat >"$file" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    fi
    apt-get update -qq
    apt_updated=true
    kubernetes_source_known || { log "apt knows no source package kubernetes"; exit 1; }
}

have_cache() {
    local b
    for b in "${BINARIES[@]}"; do
        [[ -x "$BIN/$b" ]] || return 1
    done
}

ensure_packages "${RUNTIME_PACKAGES[@]}"

mkdir -p "$PREFIX"
# Two builds at once (say `make demo` and the e2e suite) would trample the
# same work tree; the second waits for the first and then finds the cache.
exec 9>"$PREFIX/.lock"
if ! flock -w 1800 9; then
    log "another build holds $PREFIX/.lock for over 30 minutes; giving up"
    exit 1
fi

if have_cache; then
    log "cached in $BIN"
    echo "$BIN"
    exit 0
fi

log "no cached binaries in $BIN: building Kubernetes $K8S_VERSION from source"
ensure_packages "${BUILD_PACKAGES[@]}"
ensure_deb_src

# Fetch and unpack the source once; a stamp file marks a complete unpack so a
# build that failed later does not download again.
# Debian versions it 1.20.5+really1.20.2 (the source is upstream 1.20.2 plus
# a kubectl CVE fix); the unpacked directory carries that name, so it is
# found by glob.
find_src() { compgen -G "$WORK/kubernetes-*/" | head -n1 | sed 's:/$::'; }
SRC=$(find_src || true)
if [[ -z "$SRC" || ! -f "$SRC/.boxoffice-unpacked" ]]; then
    rm -rf "$WORK"
    mkdir -p "$WORK"
    log "apt-get source kubernetes"
    # apt warns that it downloads unsandboxed as root: harmless here.
    (cd "$WORK" && apt-get source -qq kubernetes >&2)
    SRC=$(find_src || true)
    [[ -n "$SRC" && -x "$SRC/hack/make-rules/build.sh" ]] \
        || { log "apt-get source did not unpack a kubernetes tree in $WORK"; exit 1; }

    # Go 1.19 crashes the vendored reflect2 1.0.1 at run time (SIGSEGV while
    # iterating maps); Debian's 1.0.2 works with it.
    log "replacing vendored modern-go/reflect2 with Debian's 1.0.2"
    rm -rf "$SRC/vendor/github.com/modern-go/reflect2"
    cp -a /usr/share/gocode/src/github.com/modern-go/reflect2 \
        "$SRC/vendor/github.com/modern-go/reflect2"
    rm -f "$SRC/vendor/github.com/modern-go/reflect2/go.mod"
    touch "$SRC/.boxoffice-unpacked"
fi

# Build as Debian's rules do: GOPATH mode, the tree linked at
# src/k8s.io/kubernetes, static binaries.
GOPATH_DIR="$WORK/gopath"
mkdir -p "$GOPATH_DIR/src/k8s.io"
ln -sfn "$SRC" "$GOPATH_DIR/src/k8s.io/kubernetes"
log "make WHAT=\"cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubectl\" ($(go version))"
(
    cd "$GOPATH_DIR/src/k8s.io/kubernetes"
    export GOPATH="$GOPATH_DIR" GO111MODULE=off GOFLAGS= CGO_ENABLED=0
    export GOCACHE="$WORK/gocache" HOME="$WORK"
    # The tree is not a git checkout; version data comes from these instead.
    export KUBE_GIT_VERSION="v$K8S_VERSION" KUBE_GIT_TREE_STATE=clean
    export KUBE_GIT_MAJOR=1 KUBE_GIT_MINOR=20
    make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubectl" >&2
)

# Copy into a fresh directory and swap it in, so a half-copied cache is never
# mistaken for a complete one.
OUT="$SRC/_output/bin"
rm -rf "$BIN.tmp"
mkdir -p "$BIN.tmp"
for b in "${BINARIES[@]}"; do
    install -m 0755 "$OUT/$b" "$BIN.tmp/$b"
done
"$BIN.tmp/kubectl" version --client --short >&2
rm -rf "$BIN"
mv "$BIN.tmp" "$BIN"

# The work tree (~2.5 GB with the Go cache) is only needed to rebuild.
if [[ "${BOXOFFICE_KEEP_BUILD_TREE:-0}" != 1 ]]; then
    rm -rf "$WORK"
fi

log "built and cached in $BIN"
echo "$BIN"
