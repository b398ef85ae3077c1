#!/usr/bin/env bash
# The quick tier: the test files listed in test/unit-tier.list (no duplicity, gpg, moto or CLI
# processes). Run through `npm run test:unit`, whose PATH puts the locked Node 24 first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mapfile -t files < <(grep -v -e '^#' -e '^[[:space:]]*$' test/unit-tier.list)
exec node --test --test-concurrency=2 "$@" "${files[@]}"
