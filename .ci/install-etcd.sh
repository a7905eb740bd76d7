#!/usr/bin/env bash
# Installs etcd, the real server test/metadata/etcd.test.ts starts on 127.0.0.1 (through
# test/helpers/etcd-server.ts), from Debian's packages: etcd-server gives /usr/bin/etcd, and
# etcd-client gives etcdctl for looking at the key layout by hand.
# Idempotent: does nothing if etcd is already where the helper looks (LEDGERSTREAM_ETCD_BIN,
# PATH, /usr/bin/etcd). The package also installs a systemd unit; the tests never use it, and on a
# machine without systemd it does not start.
set -euo pipefail

if [[ -n "${LEDGERSTREAM_ETCD_BIN:-}" && -x "${LEDGERSTREAM_ETCD_BIN}" ]]; then
  echo "install-etcd: using LEDGERSTREAM_ETCD_BIN=${LEDGERSTREAM_ETCD_BIN}"
  exit 0
fi
if command -v etcd >/dev/null 2>&1; then
  echo "install-etcd: etcd already on PATH at $(command -v etcd)"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-etcd: no apt-get; install etcd >= 3.4 by other means, or set LEDGERSTREAM_ETCD_BIN" >&2
  exit 1
fi
sudo_cmd=()
if [[ "$(id -u)" != "0" ]]; then
  sudo_cmd=(sudo)
fi
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq etcd-server etcd-client >/dev/null
test -x /usr/bin/etcd
echo "install-etcd: installed $(/usr/bin/etcd --version | head -1)"
