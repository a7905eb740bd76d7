#!/usr/bin/env bash
# Installs MinIO, the real S3-compatible server that test/storage/s3.test.ts starts on 127.0.0.1.
# Idempotent: does nothing if a minio binary is already where test/helpers/s3-server.ts looks
# (LEDGERSTREAM_MINIO_BIN, PATH, then $GOBIN or $GOPATH/bin or ~/go/bin).
#
# Why MinIO: its conditional put (If-None-Match: *) is atomic, which the putIfAbsent race test
# needs; moto (PyPI) checks then writes without a lock. MinIO ships no npm/PyPI package, so it is
# built from the Go module proxy: about 3-4 minutes on 2 cores the first time, then cached.
set -euo pipefail

# Pinned: MinIO tags releases as RELEASE.<date>, which Go cannot resolve, so this is the
# pseudo-version of the latest commit when the tests were written (2026-02-12).
MINIO_MODULE="github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"

if [[ -n "${LEDGERSTREAM_MINIO_BIN:-}" && -x "${LEDGERSTREAM_MINIO_BIN}" ]]; then
  echo "install-s3-server: using LEDGERSTREAM_MINIO_BIN=${LEDGERSTREAM_MINIO_BIN}"
  exit 0
fi
if command -v minio >/dev/null 2>&1; then
  echo "install-s3-server: minio already on PATH at $(command -v minio)"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "install-s3-server: 'go' (>= 1.24) is needed to build MinIO; install Go, or put a minio" >&2
  echo "binary on PATH, or set LEDGERSTREAM_MINIO_BIN" >&2
  exit 1
fi

gobin="$(go env GOBIN)"
if [[ -z "${gobin}" ]]; then
  gobin="$(go env GOPATH)/bin"
fi
if [[ -x "${gobin}/minio" ]]; then
  echo "install-s3-server: minio already installed at ${gobin}/minio"
  exit 0
fi

echo "install-s3-server: building ${MINIO_MODULE} (first time only, a few minutes)"
start_s=${SECONDS}
# -buildvcs=false: building from the module cache has no VCS metadata to stamp.
GOFLAGS=-buildvcs=false go install "${MINIO_MODULE}"
test -x "${gobin}/minio"
echo "install-s3-server: installed ${gobin}/minio in $((SECONDS - start_s)) s"
