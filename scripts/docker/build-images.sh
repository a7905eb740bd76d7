#!/usr/bin/env bash
# Builds every image the compose files use, locally, with no image registry: a Debian bookworm
# base made with debootstrap and `docker import`, then Ledgerstream and stand-ins for MinIO, etcd
# and Apache Kafka made from the same binaries and jars the tests install.
#
#   scripts/docker/build-images.sh [all | base | ledgerstream | minio | etcd | kafka]...
#                                                     (default: all but kafka)
#
#   ledgerstream/base:bookworm   debootstrap --variant=minbase bookworm (Debian's mirror, as apt
#                                uses it), imported with `docker import`; ~2 minutes the first time
#   ledgerstream:local           the broker: this machine's node binary (same glibc: the host is
#                                Debian 12 too), dist/ compiled here, production node_modules
#                                installed here with `npm ci --omit=dev` (native modules built
#                                for this glibc)
#   ledgerstream/minio:local     the minio binary .ci/install-s3-server.sh builds
#   ledgerstream/etcd:local      etcd and etcdctl from Debian's etcd-server/etcd-client
#                                (.ci/install-etcd.sh)
#   ledgerstream/kafka:local     Apache Kafka's jars (.ci/install-kafka.sh, bench/kafka/fetch-kafka.sh)
#                                on Debian's openjdk-17-jre-headless, installed at build time
#
# Each binary is copied into a staging folder (build/docker/<image>/, git-ignored) that is the
# build context, so the contexts stay small and the repository's own .dockerignore/Dockerfile
# (the registry-based build) are untouched. The classic builder is used (DOCKER_BUILDKIT=0):
# the docker.io engine (20.10) here has no buildx plugin.
#
# Needs: root (debootstrap), a running docker engine, debootstrap (apt-get install debootstrap),
# and for each image what it copies: node/npm; minio (bash .ci/install-s3-server.sh);
# etcd (bash .ci/install-etcd.sh); Kafka's jars (bash .ci/install-kafka.sh).
# Environment: BASE_REBUILD=1 rebuilds the base image even if it exists; DEBIAN_MIRROR
# (default http://deb.debian.org/debian); LEDGERSTREAM_MINIO_BIN / LEDGERSTREAM_ETCD_BIN as for
# the tests.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${ROOT}"
STAGE="${ROOT}/build/docker"
BASE_IMAGE="ledgerstream/base:bookworm"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
export DOCKER_BUILDKIT=0

log() { echo "build-images: $*" >&2; }
die() { echo "build-images: $*" >&2; exit 1; }

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

fresh_stage() {
  local dir="${STAGE}/$1"
  rm -rf "${dir}"
  mkdir -p "${dir}"
  echo "${dir}"
}

docker_build() {
  local tag="$1" context="$2"
  shift 2
  log "docker build -t ${tag} (context ${context#"${ROOT}/"})"
  # The classic builder's deprecation notice goes to the log too; the log is shown on failure.
  local build_log="${STAGE}/$(basename "${context}").build.log"
  if ! docker build -t "${tag}" "$@" "${context}" >"${build_log}" 2>&1; then
    tail -n 30 "${build_log}" >&2
    die "docker build -t ${tag} failed (log: ${build_log})"
  fi
  log "built ${tag}: $(docker image inspect -f '{{.Size}}' "${tag}" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
}

build_base() {
  if image_exists "${BASE_IMAGE}" && [[ "${BASE_REBUILD:-0}" != "1" ]]; then
    log "${BASE_IMAGE} exists (BASE_REBUILD=1 to rebuild)"
    return
  fi
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap missing: apt-get install -y debootstrap"
  [[ "$(id -u)" == "0" ]] || die "debootstrap needs root"
  local rootfs
  rootfs="$(mktemp -d /tmp/ledgerstream-rootfs.XXXXXX)"
  log "debootstrap --variant=minbase bookworm from ${MIRROR} (a few minutes the first time)"
  # ca-certificates: TLS to an S3 endpoint outside compose; netbase: /etc/services, /etc/protocols.
  debootstrap --variant=minbase --include=ca-certificates,netbase bookworm "${rootfs}" "${MIRROR}" \
    >"${STAGE}/debootstrap.log" 2>&1 || die "debootstrap failed; see ${STAGE}/debootstrap.log"
  # Slim the image as Docker's debian:bookworm-slim does: no apt lists, docs or caches.
  rm -rf "${rootfs}"/var/lib/apt/lists/* "${rootfs}"/var/cache/apt/*.bin \
    "${rootfs}"/var/cache/apt/archives/*.deb "${rootfs}"/usr/share/doc/* "${rootfs}"/usr/share/man/*
  tar -C "${rootfs}" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' -c 'CMD ["bash"]' - "${BASE_IMAGE}" >/dev/null
  rm -rf "${rootfs}"
  log "imported ${BASE_IMAGE}"
}

build_ledgerstream() {
  local dir node_bin
  dir="$(fresh_stage ledgerstream)"
  node_bin="$(command -v node)"
  log "staging node $("${node_bin}" --version) from ${node_bin}, dist/ and production node_modules"
  # Only what the broker runs is compiled (tsconfig.broker.json), as `npm start` does; its build
  # info goes with the fresh output (an incremental build that finds a current build info in
  # dist/ would write nothing).
  npx tsc -p tsconfig.broker.json --outDir "${dir}/app/dist" --tsBuildInfoFile "${dir}/tsbuildinfo"
  test -f "${dir}/app/dist/src/cli.js" || die "tsc did not produce dist/src/cli.js"
  cp package.json package-lock.json "${dir}/app/"
  cp -r bin "${dir}/app/bin"
  (cd "${dir}/app" && npm ci --omit=dev --no-audit --no-fund --loglevel=error >/dev/null)
  (cd "${dir}/app" && "${node_bin}" -e "new (require('better-sqlite3'))(':memory:').close()")
  mkdir -p "${dir}/node"
  cp "${node_bin}" "${dir}/node/node"
  rm -f "${dir}/tsbuildinfo"
  cp docker/ledgerstream.Dockerfile "${dir}/Dockerfile"
  docker_build ledgerstream:local "${dir}" --build-arg "BASE_IMAGE=${BASE_IMAGE}"
}

find_binary() {
  local name="$1" env_value="$2" candidate
  for candidate in "${env_value}" "$(command -v "${name}" 2>/dev/null || true)" \
    "$(go env GOBIN 2>/dev/null || true)/${name}" "$(go env GOPATH 2>/dev/null || true)/bin/${name}"; do
    if [[ -n "${candidate}" && -x "${candidate}" && ! -d "${candidate}" ]]; then
      echo "${candidate}"
      return
    fi
  done
}

build_minio() {
  local dir bin
  bin="$(find_binary minio "${LEDGERSTREAM_MINIO_BIN:-}")"
  [[ -n "${bin}" ]] || die "no minio binary: bash .ci/install-s3-server.sh"
  dir="$(fresh_stage minio)"
  cp "${bin}" "${dir}/minio"
  cp docker/minio.Dockerfile "${dir}/Dockerfile"
  docker_build ledgerstream/minio:local "${dir}" --build-arg "BASE_IMAGE=${BASE_IMAGE}"
}

build_etcd() {
  local dir etcd_bin etcdctl_bin
  etcd_bin="$(find_binary etcd "${LEDGERSTREAM_ETCD_BIN:-}")"
  etcdctl_bin="$(find_binary etcdctl "")"
  [[ -n "${etcd_bin}" && -n "${etcdctl_bin}" ]] || die "no etcd/etcdctl: bash .ci/install-etcd.sh"
  dir="$(fresh_stage etcd)"
  cp "${etcd_bin}" "${dir}/etcd"
  cp "${etcdctl_bin}" "${dir}/etcdctl"
  cp docker/etcd.Dockerfile "${dir}/Dockerfile"
  docker_build ledgerstream/etcd:local "${dir}" --build-arg "BASE_IMAGE=${BASE_IMAGE}"
}

build_kafka() {
  local dir libs version
  libs="$(bash bench/kafka/fetch-kafka.sh)" || die "no Kafka jars: bash .ci/install-kafka.sh"
  version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' bench/kafka/pom.xml | head -n 1)"
  dir="$(fresh_stage kafka)"
  mkdir -p "${dir}/kafka"
  cp -r "${libs}" "${dir}/kafka/libs"
  cp -r "$(dirname "${libs}")/config" "${dir}/kafka/config"
  cp docker/kafka-entrypoint.sh "${dir}/entrypoint.sh"
  cp docker/kafka.Dockerfile "${dir}/Dockerfile"
  docker_build ledgerstream/kafka:local "${dir}" --build-arg "BASE_IMAGE=${BASE_IMAGE}" \
    --build-arg "KAFKA_VERSION=${version}"
}

main() {
  docker info >/dev/null 2>&1 || die "no docker engine answers (docker info); start dockerd first"
  mkdir -p "${STAGE}"
  local targets=("$@")
  if [[ ${#targets[@]} -eq 0 ]]; then targets=(base ledgerstream minio etcd); fi
  if [[ " ${targets[*]} " == *" all "* ]]; then targets=(base ledgerstream minio etcd kafka); fi
  local target
  for target in "${targets[@]}"; do
    case "${target}" in
      base) build_base ;;
      ledgerstream | minio | etcd | kafka)
        image_exists "${BASE_IMAGE}" || build_base
        "build_${target}"
        ;;
      *) die "unknown image '${target}' (all, base, ledgerstream, minio, etcd, kafka)" ;;
    esac
  done
}

main "$@"
