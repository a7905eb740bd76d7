#!/usr/bin/env bash
# Installs Docker Compose v2 as a docker CLI plugin (`docker compose ...`), built from source from
# the Go module proxy: Debian 12 packages only Compose v1 (docker-compose 1.29), and no release
# download site is reachable from these machines. About 3-5 minutes on 2 cores the first time.
#
#   scripts/docker/install-compose.sh          # installs into /usr/local/lib/docker/cli-plugins
#
# `go install github.com/docker/compose/v2/cmd@<version>` is refused (its go.mod has `exclude`
# directives), so the module's source is copied from the module cache and built as the main
# module, which honours them. Idempotent: does nothing if `docker compose version` already
# reports a v2.
# Environment: COMPOSE_VERSION (default below), COMPOSE_PLUGIN_DIR.
set -euo pipefail

COMPOSE_VERSION="${COMPOSE_VERSION:-v2.40.3}"
PLUGIN_DIR="${COMPOSE_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}"
MODULE="github.com/docker/compose/v2"

if docker compose version 2>/dev/null | grep -q ' v2\.'; then
  echo "install-compose: $(docker compose version)"
  exit 0
fi
command -v go >/dev/null 2>&1 || { echo "install-compose: 'go' (>= 1.24) is needed" >&2; exit 1; }

echo "install-compose: building ${MODULE}@${COMPOSE_VERSION} (a few minutes the first time)"
start_s=${SECONDS}
src_dir="$(go mod download -json "${MODULE}@${COMPOSE_VERSION}" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -d "${src_dir}" ]] || { echo "install-compose: go mod download gave no source folder" >&2; exit 1; }
work="$(mktemp -d /tmp/ledgerstream-compose.XXXXXX)"
cp -r "${src_dir}/." "${work}/"
chmod -R u+w "${work}"
mkdir -p "${PLUGIN_DIR}"
(cd "${work}" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath \
  -ldflags "-s -w -X ${MODULE}/internal.Version=${COMPOSE_VERSION}" \
  -o "${PLUGIN_DIR}/docker-compose" ./cmd)
rm -rf "${work}"
echo "install-compose: installed ${PLUGIN_DIR}/docker-compose in $((SECONDS - start_s)) s"
docker compose version
