#!/usr/bin/env bash
# Installs what the test suite needs besides node_modules, on Debian 12, as root. Idempotent: it
# only runs apt-get when a package is missing, and only builds the duplicity 3.x venv when the one
# in .cache/duplicity3 does not run.
#   - Debian: duplicity (0.8.22, the format reference), gnupg, librsync-dev, python3-venv, rdiff, chromium,
#             python3-boto3 (duplicity 0.8.22's boto3+s3 backend: the S3 oracle and interop tests)
#   - PyPI:   duplicity 3.x in a venv at .cache/duplicity3 (only what file:// backups need)
#   - PyPI:   moto[server] (the S3 test server) and crc32c (so moto computes real CRC-32C values)
#             in a venv at .cache/moto
#   - PyPI:   prometheus_client (the official Prometheus text-format parser, for /metrics) in a
#             venv at .cache/prometheus-client
# Exits non-zero, saying how to install by hand, when anything cannot be installed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.cache/duplicity3"
# The version the interop tests were written against; override to try another 3.x.
dup3_version="${DUPLICITY3_VERSION:-3.2.1}"
moto_venv="$root/.cache/moto"
# The moto the S3 tests were written against; override to try another one.
moto_version="${MOTO_VERSION:-5.2.5}"
prom_venv="$root/.cache/prometheus-client"
prom_version="${PROMETHEUS_CLIENT_VERSION:-0.26.0}"

say() { printf '[install-test-deps] %s\n' "$*"; }
die() {
  printf '[install-test-deps] ERROR: %s\n' "$1" >&2
  shift
  for line in "$@"; do printf '    %s\n' "$line" >&2; done
  exit 1
}

installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }

# --- Debian packages ---------------------------------------------------------------------------
command -v dpkg-query >/dev/null || die "this is not a Debian system (no dpkg-query)" \
  "install by hand: duplicity 0.8.22, gnupg, librsync (rdiff), python3 with venv"

# clang and lld rebuild the WebAssembly MD4 from its C source, so a test can check the committed build;
# chromium (and a font for its screenshots) runs the dashboard's browser tests (test/dashboard/, playwright-core)
required=(duplicity gnupg librsync-dev python3-venv python3-boto3 clang lld chromium fonts-dejavu-core)
missing=()
for p in "${required[@]}"; do installed "$p" || missing+=("$p"); done
# rdiff (librsync's command-line tool) derives test values; Debian 12 calls it rdiff, other
# releases librsync-tools. Optional: only asked of apt when neither is there.
have_rdiff=no
if command -v rdiff >/dev/null; then have_rdiff=yes; fi

if [ ${#missing[@]} -gt 0 ] || { [ "$have_rdiff" = no ] && [ "$(id -u)" -eq 0 ]; }; then
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]}, and this is not root" \
    "install by hand: sudo apt-get update && sudo apt-get install -y ${missing[*]} rdiff"
  say "apt-get update (missing: ${missing[*]:-none}; rdiff on PATH: $have_rdiff)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed" "check the network and /etc/apt/sources.list, then rerun"
  if [ "$have_rdiff" = no ]; then
    for candidate in rdiff librsync-tools; do
      if apt-cache show "$candidate" >/dev/null 2>&1; then missing+=("$candidate"); break; fi
    done
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    say "apt-get install ${missing[*]}"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      die "apt-get install ${missing[*]} failed" "install by hand: apt-get install -y ${missing[*]}"
  fi
fi
command -v rdiff >/dev/null || say "warning: no rdiff (apt has neither rdiff nor librsync-tools, or not root); tests that derive values with rdiff will fail"
for p in "${required[@]}"; do installed "$p" || die "package $p is still not installed" "install by hand: apt-get install -y $p"; done

dup08_version=$(/usr/bin/duplicity --version 2>&1) || die "/usr/bin/duplicity does not run: $dup08_version" \
  "reinstall it: apt-get install --reinstall -y duplicity"
case "$dup08_version" in
  "duplicity 0.8.22"*) ;;
  *) die "/usr/bin/duplicity is '$dup08_version', the tests need 0.8.22 (Debian 12's)" \
    "run the tests on Debian 12 (bookworm), or install duplicity 0.8.22 there by hand" ;;
esac
command -v gpg >/dev/null || die "gpg is missing although gnupg is installed" "apt-get install --reinstall -y gnupg"

# --- duplicity 3.x venv ------------------------------------------------------------------------
dup3_ok() {
  local v
  v=$("$venv/bin/duplicity" --version 2>/dev/null) || return 1
  case "$v" in "duplicity 3."*) return 0 ;; *) return 1 ;; esac
}

# Debian's python3 is the one python3-venv provides venv for; another python3 on PATH (pyenv) works too.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3) || die "no python3" "apt-get install -y python3 python3-venv"

install_dup3() {
  say "creating $venv with $("$py" --version 2>&1)"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$py" -m venv "$venv" || die "python3 -m venv failed" "apt-get install -y python3-venv, then rerun"

  # duplicity's Requires-Dist lists every cloud SDK (boto3, azure, b2sdk, google, dropbox, ...:
  # ~370 MB). For file:// backups it imports only fasteners; the rest is loaded per backend. The
  # wheel bundles librsync; on a platform without a wheel pip builds the C extension from the sdist,
  # which needs librsync-dev (installed above), gcc and python3-dev.
  say "pip install --no-deps duplicity==$dup3_version fasteners (file:// needs nothing else)"
  if ! "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "duplicity==$dup3_version" "fasteners>=0.19"; then
    rm -rf "$venv"
    die "pip could not install duplicity $dup3_version" \
      "by hand: $py -m venv $venv && $venv/bin/pip install --no-deps duplicity==$dup3_version 'fasteners>=0.19'" \
      "if it compiles from source: apt-get install -y gcc python3-dev librsync-dev first"
  fi
  dup3_ok || {
    out=$("$venv/bin/duplicity" --version 2>&1 || true)
    rm -rf "$venv"
    die "the duplicity 3.x venv does not run: $out" \
      "by hand: $py -m venv $venv && $venv/bin/pip install duplicity==$dup3_version (all dependencies)"
  }
}
dup3_ok || install_dup3

# --- moto (S3 test server) venv ----------------------------------------------------------------
# The S3 tests start moto_server on a loopback port (test/support/moto.ts). moto computes CRC-32C
# with the optional crc32c package and silently falls back to CRC-32 without it.
moto_ok() {
  [ -x "$moto_venv/bin/moto_server" ] &&
    "$moto_venv/bin/python" -c "import sys, moto, crc32c, flask, flask_cors; sys.exit(0 if moto.__version__ == '$moto_version' else 1)" 2>/dev/null
}

install_moto() {
  say "creating $moto_venv with moto[server]==$moto_version and crc32c"
  rm -rf "$moto_venv"
  mkdir -p "$(dirname "$moto_venv")"
  "$py" -m venv "$moto_venv" || die "python3 -m venv failed" "apt-get install -y python3-venv, then rerun"
  if ! "$moto_venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$moto_version" crc32c; then
    rm -rf "$moto_venv"
    die "pip could not install moto[server] $moto_version" \
      "by hand: $py -m venv $moto_venv && $moto_venv/bin/pip install 'moto[server]==$moto_version' crc32c"
  fi
  moto_ok || {
    rm -rf "$moto_venv"
    die "the moto venv does not work after installing" \
      "by hand: $py -m venv $moto_venv && $moto_venv/bin/pip install 'moto[server]==$moto_version' crc32c"
  }
}
moto_ok || install_moto

# --- prometheus_client venv (the dashboard's /metrics test parses with it) -----------------------
prom_ok() {
  "$prom_venv/bin/python" -c "import sys, prometheus_client; from prometheus_client.parser import text_string_to_metric_families; from importlib.metadata import version; sys.exit(0 if version('prometheus_client') == '$prom_version' else 1)" 2>/dev/null
}
install_prom() {
  say "creating $prom_venv with prometheus_client==$prom_version"
  rm -rf "$prom_venv"
  mkdir -p "$(dirname "$prom_venv")"
  "$py" -m venv "$prom_venv" || die "python3 -m venv failed" "apt-get install -y python3-venv, then rerun"
  if ! "$prom_venv/bin/pip" install --quiet --disable-pip-version-check "prometheus_client==$prom_version" || ! prom_ok; then
    rm -rf "$prom_venv"
    die "pip could not install prometheus_client $prom_version" \
      "by hand: $py -m venv $prom_venv && $prom_venv/bin/pip install 'prometheus_client==$prom_version'"
  fi
}
prom_ok || install_prom

say "ok: $dup08_version (/usr/bin/duplicity), $("$venv/bin/duplicity" --version) ($venv), moto $moto_version ($moto_venv), prometheus_client $prom_version ($prom_venv)"
