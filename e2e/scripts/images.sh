#!/usr/bin/env bash
# Builds the container images of boxoffice-operator and ticketing-service and
# inspects them (`make images`): static musl binaries on `FROM scratch`, run as
# user 65532, with Debian's CA bundle inside. Nothing is pulled: podman builds
# with the vfs storage driver from a context staged here.
#
# Installs what it needs when missing: podman and musl-tools (apt), and
# rustup's x86_64-unknown-linux-musl target.
#
#   IMAGE_PREFIX      image names (default localhost/boxoffice)
#   IMAGE_TAG         tag (default: the crates' version)
#   CARGO_TARGET_DIR  cargo's target directory (default <repo>/target)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TARGET=x86_64-unknown-linux-musl
PREFIX=${IMAGE_PREFIX:-localhost/boxoffice}
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n1)
TAG=${IMAGE_TAG:-$VERSION}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
STAGE="$TARGET_DIR/images"
BINARIES=(boxoffice-operator ticketing-service)
podman() { command podman --storage-driver vfs "$@"; }
started=$SECONDS
log() { printf '[images %3ds] %s\n' "$((SECONDS - started))" "$*" >&2; }

# --- tools -------------------------------------------------------------------
missing=()
for p in podman musl-tools ca-certificates binutils; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    [[ "$(id -u)" == 0 ]] || { log "missing packages: ${missing[*]}; run as root"; exit 1; }
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! rustup target list --installed | grep -qx "$TARGET"; then
    log "adding the Rust target $TARGET"
    rustup target add "$TARGET"
fi

# --- static binaries -----------------------------------------------------------
log "building ${BINARIES[*]} for $TARGET (release)"
# ring (TLS) compiles C: musl-gcc from musl-tools links it statically.
CC_x86_64_unknown_linux_musl=musl-gcc \
    cargo build --release --locked --target "$TARGET" \
    -p boxoffice-operator --bin boxoffice-operator \
    -p ticketing-service --bin ticketing-service

# --- images ----------------------------------------------------------------------
for name in "${BINARIES[@]}"; do
    ctx="$STAGE/$name"
    rm -rf "$ctx"
    mkdir -p "$ctx"
    bin="$TARGET_DIR/$TARGET/release/$name"
    if file_out=$(LC_ALL=C readelf -l "$bin" 2>/dev/null) && grep -q INTERP <<<"$file_out"; then
        log "$bin asks for a dynamic loader: not static"; exit 1
    fi
    strip -o "$ctx/$name" "$bin"
    # The CA roots of this machine's Debian, copied at build time, never committed.
    cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
    cp "$ROOT/images/$name.Containerfile" "$ctx/Containerfile"
    log "building $PREFIX/$name:$TAG"
    podman build --quiet --tag "$PREFIX/$name:$TAG" --file "$ctx/Containerfile" "$ctx" >/dev/null
done

# --- inspection ------------------------------------------------------------------
fail() { log "FAILED: $*"; exit 1; }
printf '%-44s %-12s %-26s %10s  %s\n' IMAGE USER ENTRYPOINT SIZE VERSION
for name in "${BINARIES[@]}"; do
    image="$PREFIX/$name:$TAG"
    user=$(podman image inspect --format '{{.Config.User}}' "$image")
    entrypoint=$(podman image inspect --format '{{join .Config.Entrypoint " "}}' "$image")
    size=$(podman image inspect --format '{{.Size}}' "$image")
    [[ "$user" == 65532:65532 ]] || fail "$image runs as '$user', not 65532:65532"
    [[ "$entrypoint" == "/$name" ]] || fail "$image enters '$entrypoint', not /$name"

    # Copy the binary and the CA bundle back out of the image, and run that binary.
    out="$STAGE/$name.out"
    rm -rf "$out"
    mkdir -p "$out"
    container=$(podman create "$image")
    podman cp "$container:/$name" "$out/$name"
    podman cp "$container:/etc/ssl/certs/ca-certificates.crt" "$out/ca-certificates.crt"
    podman rm "$container" >/dev/null
    cmp -s "$out/ca-certificates.crt" /etc/ssl/certs/ca-certificates.crt \
        || fail "$image holds no CA bundle"
    version=$("$out/$name" --version) || fail "$name copied out of $image does not run"
    [[ "$version" == "$name $VERSION" ]] || fail "$name --version says '$version'"
    # Time zones live in the binary (chrono-tz), not in /usr/share/zoneinfo.
    if [[ "$name" == ticketing-service ]]; then
        grep -qa "Europe/Brussels" "$out/$name" || fail "$name carries no time-zone data"
    fi
    printf '%-44s %-12s %-26s %8.1fMB  %s\n' "$image" "$user" "$entrypoint" \
        "$(awk "BEGIN { print $size / 1000000 }")" "$version"
done
log "done"
