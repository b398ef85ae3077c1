#!/usr/bin/env bash
# The test command (README, and CI through .ci/run): dependencies, build, then every test.
# Works from a fresh clone, as root, with CI=true and no stdin; exits with the tests' exit code.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec </dev/null

step() { printf '\n== %s\n' "$*"; }

# A fresh clone gets exactly the locked versions (npm ci). An existing node_modules is updated in
# place (npm install), which is quick when nothing changed and does not pull it from under other
# processes. The locked "node" package ships the Node 24 that the npm scripts below run on.
if [ ! -d node_modules ] && [ -f package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
else
  step "npm install"
  npm install --no-audit --no-fund
fi

step "test dependencies (duplicity 0.8.22 and 3.x, gnupg, librsync)"
bash scripts/install-test-deps.sh

step "npm run build"
npm run build

step "npm run typecheck (src, tests and bench, strict)"
npm run typecheck

step "documentation links (README, CONTRIBUTING, docs/, src/**/README.md)"
python3 scripts/check-doc-links.py

step "npm run lint (Biome: format and lint rules, biome.jsonc)"
npm run lint

step "npm run lint:layers (imports point down only: README \"Architecture\")"
npm run lint:layers

# The quick tier first: a failure there is reported within a minute. The whole suite below runs
# those files again (about 30 s), so that `npm test` alone stays everything.
step "npm run test:unit (the quick tier)"
npm run test:unit

step "npm test (node $(npx --no-install node --version))"
npm test

# The container image, built and run (podman, moto, aiosmtpd; about 3 minutes, less with warm caches).
step "the image test (bash scripts/test-image.sh)"
image_started=$(date +%s)
bash scripts/test-image.sh
printf 'the image test took %s s\n' "$(($(date +%s) - image_started))"
