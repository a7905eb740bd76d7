#!/usr/bin/env bash
# A three-broker Ledgerstream cluster as local processes on loopback, without Docker: the same
# topology as docker-compose.yml.
#
#   etcd     127.0.0.1:2379 (peer 2380), --max-txn-ops 1024       coordinator=etcd
#   MinIO    127.0.0.1:9000, bucket created by the brokers         objectStore=s3
#   brokers  127.0.0.1:9092, 9095, 9098 (node ids 1, 2, 3)         walMode=shared
#            the shared WAL is one folder every broker reaches: <state>/wal/<node id>
#
# Usage: scripts/cluster-local.sh up | down [--purge] | status | kill <id> | stop <id> | start <id>
#                                 | logs <etcd|minio|1|2|3>
#   up        builds (npm run build), starts what is not running, waits until the three brokers
#             answer, prints how to use the cluster. Idempotent. Data survives down/up.
#   down      SIGTERM to every process (brokers first, one by one, so each hands its partitions
#             over), SIGKILL after CLUSTER_STOP_TIMEOUT_S; --purge then deletes the state folder.
#   status    what runs, with pids, and the brokers and partition leaders as a client sees them.
#   kill <id> SIGKILLs broker <id> (a crash: nothing is flushed, another broker replays its WAL).
#   stop <id> SIGTERMs broker <id> (graceful leave: it hands its partitions over first).
#   start <id> starts broker <id> again with the settings it had.
#
# Each broker runs under a small supervisor loop that restarts it when it exits with code 75,
# which brokers did when they lost their etcd lease; they now rejoin in place instead.
# Any other exit (a kill, a graceful stop, a bad setting) ends the loop.
#
# Environment (all optional):
#   LEDGERSTREAM_CLUSTER_DIR  state folder (default ./.cluster): etcd/, minio/, wal/, broker-N/,
#                             broker-N.json (each broker's settings), logs/, pids/
#   CLUSTER_WAL_MODE          shared (default) or object
#   CLUSTER_LEASE_TTL_MS      broker lease in etcd (default 6000, the broker's own default)
#   CLUSTER_PARTITIONS        partitions of auto-created topics (default 3: one per broker)
#   CLUSTER_STOP_TIMEOUT_S    seconds between SIGTERM and SIGKILL (default 30)
#   CLUSTER_SKIP_BUILD=1      do not run npm run build
#   LEDGERSTREAM_ETCD_BIN, LEDGERSTREAM_MINIO_BIN  as for the tests (test/helpers/*-server.ts)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A relative LEDGERSTREAM_CLUSTER_DIR is taken from the caller's folder.
STATE="$(realpath -m "${LEDGERSTREAM_CLUSTER_DIR:-${ROOT}/.cluster}")"
cd "${ROOT}"
LOGS="${STATE}/logs"
PIDS="${STATE}/pids"

HOST=127.0.0.1
ETCD_CLIENT_PORT=2379
ETCD_PEER_PORT=2380
ETCD_TXN_OPS_MAX=1024 # etcd --max-txn-ops and the brokers' etcdTxnOpsMax: they must match
MINIO_PORT=9000
S3_BUCKET=ledgerstream
S3_ACCESS_KEY=ledgerstream
S3_SECRET_KEY=ledgerstream-secret
BROKER_IDS=(1 2 3)
declare -A BROKER_PORT=([1]=9092 [2]=9095 [3]=9098)
declare -A METRICS_PORT=([1]=9464 [2]=9465 [3]=9466)

WAL_MODE="${CLUSTER_WAL_MODE:-shared}"
LEASE_TTL_MS="${CLUSTER_LEASE_TTL_MS:-6000}"
PARTITIONS="${CLUSTER_PARTITIONS:-3}"
STOP_TIMEOUT_S="${CLUSTER_STOP_TIMEOUT_S:-30}"
START_TIMEOUT_S=60

say() { printf 'cluster: %s\n' "$*"; }
die() { printf 'cluster: %s\n' "$*" >&2; exit 1; }

# --- processes -------------------------------------------------------------------------------

pid_of() { # name -> pid if its pid file names a live process
  local file="${PIDS}/$1.pid" pid
  [[ -f "${file}" ]] || return 1
  pid="$(cat "${file}" 2>/dev/null || true)"
  [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null && { echo "${pid}"; return 0; }
  return 1
}

is_running() { pid_of "$1" >/dev/null; }

# Starts a command in its own session, detached from this shell, logging to logs/<name>.log.
# The pid recorded is the command's own (bash execs into it).
spawn() { # name command...
  local name="$1"; shift
  mkdir -p "${LOGS}" "${PIDS}"
  setsid bash -c 'echo $$ > "$1"; shift; exec "$@"' spawn "${PIDS}/${name}.pid" "$@" \
    </dev/null >>"${LOGS}/${name}.log" 2>&1 &
  local i
  for i in $(seq 1 50); do [[ -s "${PIDS}/${name}.pid" ]] && return 0; sleep 0.02; done
  die "${name} did not start (see ${LOGS}/${name}.log)"
}

# A broker runs under a supervisor loop: it is restarted after exit code 75 (lease lost). The loop
# records the broker's pid in pids/broker-N.pid and its own in pids/broker-N.supervisor.pid.
spawn_broker() { # id
  local id="$1" name="broker-$1"
  mkdir -p "${LOGS}" "${PIDS}"
  rm -f "${PIDS}/${name}.pid" "${STATE}/${name}.exit"
  setsid bash -c '
    pidfile="$1"; exitfile="$2"; shift 2
    echo $$ > "${pidfile%.pid}.supervisor.pid"
    while :; do
      "$@" &
      child=$!
      echo "${child}" > "${pidfile}"
      code=0; wait "${child}" || code=$?
      rm -f "${pidfile}"
      echo "$(date -u +%FT%T.%3NZ) exit ${code}" > "${exitfile}"
      echo "[cluster supervisor] broker exited with code ${code} at $(date -u +%FT%T.%3NZ)"
      [[ "${code}" == 75 ]] || break
      echo "[cluster supervisor] lease lost (75): restarting in 1 s"
      sleep 1
    done
    rm -f "${pidfile%.pid}.supervisor.pid"
  ' supervisor "${PIDS}/${name}.pid" "${STATE}/${name}.exit" \
    node --max-semi-space-size=64 --initial-old-space-size=256 "${ROOT}/dist/src/cli.js" start --config "${STATE}/${name}.json" \
    </dev/null >>"${LOGS}/${name}.log" 2>&1 &
  local i
  for i in $(seq 1 100); do [[ -s "${PIDS}/${name}.pid" ]] && return 0; sleep 0.02; done
  die "${name} did not start (see ${LOGS}/${name}.log)"
}

# SIGTERM, wait up to STOP_TIMEOUT_S, then SIGKILL.
stop_process() { # name
  local name="$1" pid i
  pid="$(pid_of "${name}")" || { rm -f "${PIDS}/${name}.pid"; return 0; }
  kill -TERM "${pid}" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT_S * 10; i++)); do
    kill -0 "${pid}" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "${pid}" 2>/dev/null; then
    say "${name} (pid ${pid}) still running after ${STOP_TIMEOUT_S} s: SIGKILL"
    kill -KILL "${pid}" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "${PIDS}/${name}.pid"
  say "stopped ${name} (pid ${pid})"
}

# --- probes ----------------------------------------------------------------------------------

port_open() { # port -> 0 if something accepts a TCP connection on HOST:port
  node -e '
    const s = require("node:net").connect(Number(process.argv[1]), process.argv[2]);
    s.setTimeout(1000, () => process.exit(1));
    s.on("connect", () => process.exit(0)); s.on("error", () => process.exit(1));
  ' "$1" "${HOST}"
}

http_ok() { curl -fsS -m 2 -o /dev/null "$1" 2>/dev/null; }

wait_until() { # what timeout_s command...
  local timeout_s="$2" deadline; shift 2 # $1 names what is awaited, for the reader
  deadline=$((SECONDS + timeout_s))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# A broker answers when its port accepts connections (the listener opens only after it joined
# the cluster) and, with kcat, when a Metadata request through it lists every live broker.
broker_answers() { # id
  local port="${BROKER_PORT[$1]}"
  port_open "${port}" || return 1
  if command -v kcat >/dev/null 2>&1; then
    timeout 5 kcat -L -b "${HOST}:${port}" -m 3 2>/dev/null | grep -q ' brokers:$' || return 1
  fi
}

live_broker_count() { # through any broker that answers
  local id port
  for id in "${BROKER_IDS[@]}"; do
    port="${BROKER_PORT[${id}]}"
    if command -v kcat >/dev/null 2>&1 && port_open "${port}"; then
      timeout 5 kcat -L -b "${HOST}:${port}" -m 3 2>/dev/null | sed -n 's/^ \([0-9]*\) brokers:$/\1/p' && return 0
    fi
  done
  echo 0
}

# --- binaries --------------------------------------------------------------------------------

find_etcd() {
  local c
  for c in "${LEDGERSTREAM_ETCD_BIN:-}" "$(command -v etcd 2>/dev/null || true)" /usr/bin/etcd; do
    [[ -n "${c}" && -x "${c}" ]] && { echo "${c}"; return 0; }
  done
  die "etcd not found: install it with 'bash .ci/install-etcd.sh' (Debian: apt-get install etcd-server), or set LEDGERSTREAM_ETCD_BIN"
}

find_minio() {
  local c gopath="${GOPATH:-${HOME}/go}"
  for c in "${LEDGERSTREAM_MINIO_BIN:-}" "$(command -v minio 2>/dev/null || true)" \
    "${GOBIN:-${gopath}/bin}/minio"; do
    [[ -n "${c}" && -x "${c}" ]] && { echo "${c}"; return 0; }
  done
  die "minio not found: install it with 'bash .ci/install-s3-server.sh' (builds MinIO with go install, a few minutes), or set LEDGERSTREAM_MINIO_BIN"
}

# Refuses to start a component on a port some other process already holds.
check_port_free() { # name port
  if port_open "$2"; then
    die "port $2 (for $1) is in use by another process: $(ss -ltnpH "sport = :$2" 2>/dev/null | awk '{print $NF}' | head -1)"
  fi
}

# --- components ------------------------------------------------------------------------------

start_etcd() {
  if is_running etcd; then say "etcd already running (pid $(pid_of etcd))"; return 0; fi
  local bin; bin="$(find_etcd)"
  check_port_free etcd "${ETCD_CLIENT_PORT}"
  check_port_free "etcd peer" "${ETCD_PEER_PORT}"
  mkdir -p "${STATE}/etcd"
  local client="http://${HOST}:${ETCD_CLIENT_PORT}" peer="http://${HOST}:${ETCD_PEER_PORT}"
  # etcd 3.4 refuses to start on arm64 unless told this is on purpose (as the test helper does).
  if [[ "$(uname -m)" == aarch64 ]]; then export ETCD_UNSUPPORTED_ARCH=arm64; fi
  spawn etcd "${bin}" --name ledgerstream --data-dir "${STATE}/etcd" \
    --listen-client-urls "${client}" --advertise-client-urls "${client}" \
    --listen-peer-urls "${peer}" --initial-advertise-peer-urls "${peer}" \
    --initial-cluster "ledgerstream=${peer}" --initial-cluster-state new \
    --max-txn-ops "${ETCD_TXN_OPS_MAX}" --logger zap --log-level warn
  wait_until etcd 30 http_ok "${client}/health" ||
    die "etcd not healthy after 30 s; last lines of ${LOGS}/etcd.log:$(printf '\n'; tail -n 20 "${LOGS}/etcd.log")"
  say "etcd      ${client} (pid $(pid_of etcd))"
}

start_minio() {
  if is_running minio; then say "minio already running (pid $(pid_of minio))"; return 0; fi
  local bin; bin="$(find_minio)"
  check_port_free minio "${MINIO_PORT}"
  mkdir -p "${STATE}/minio/data"
  spawn minio env MINIO_ROOT_USER="${S3_ACCESS_KEY}" MINIO_ROOT_PASSWORD="${S3_SECRET_KEY}" \
    MINIO_BROWSER=off MINIO_UPDATE=off "${bin}" server --quiet --address "${HOST}:${MINIO_PORT}" \
    --certs-dir "${STATE}/minio/certs" "${STATE}/minio/data"
  wait_until minio 30 http_ok "http://${HOST}:${MINIO_PORT}/minio/health/ready" ||
    die "minio not ready after 30 s; last lines of ${LOGS}/minio.log:$(printf '\n'; tail -n 20 "${LOGS}/minio.log")"
  say "minio     http://${HOST}:${MINIO_PORT} (pid $(pid_of minio)), bucket ${S3_BUCKET}, keys ${S3_ACCESS_KEY} / ${S3_SECRET_KEY}"
}

# Every setting by its config.ts name; `start --config` validates them all.
write_broker_config() { # id
  local id="$1"
  local shared_wal=''
  [[ "${WAL_MODE}" == shared ]] && shared_wal="\"sharedWalDir\": \"${STATE}/wal\","
  cat >"${STATE}/broker-${id}.json" <<EOF
{
  "nodeId": ${id},
  "host": "${HOST}",
  "port": ${BROKER_PORT[${id}]},
  "advertisedHost": "${HOST}",
  "advertisedPort": ${BROKER_PORT[${id}]},
  "dataDir": "${STATE}/broker-${id}",
  "coordinator": "etcd",
  "etcdEndpoints": "http://${HOST}:${ETCD_CLIENT_PORT}",
  "etcdTxnOpsMax": ${ETCD_TXN_OPS_MAX},
  "leaseTtlMs": ${LEASE_TTL_MS},
  "walMode": "${WAL_MODE}",
  ${shared_wal}
  "objectStore": "s3",
  "s3Endpoint": "http://${HOST}:${MINIO_PORT}",
  "s3Bucket": "${S3_BUCKET}",
  "s3AccessKeyId": "${S3_ACCESS_KEY}",
  "s3SecretAccessKey": "${S3_SECRET_KEY}",
  "s3CreateBucket": true,
  "defaultPartitions": ${PARTITIONS},
  "metricsPort": ${METRICS_PORT[${id}]},
  "metricsHost": "${HOST}"
}
EOF
}

launch_broker() { # id: starts it unless running; does not wait
  local id="$1" name="broker-$1"
  if is_running "${name}"; then say "${name} already running (pid $(pid_of "${name}"))"; return 0; fi
  check_port_free "${name}" "${BROKER_PORT[${id}]}"
  [[ -f "${STATE}/${name}.json" ]] || write_broker_config "${id}"
  mkdir -p "${STATE}/broker-${id}"
  [[ "${WAL_MODE}" == shared ]] && mkdir -p "${STATE}/wal"
  spawn_broker "${id}"
}

wait_broker() { # id: until it answers; fails at once if it exited (a bad setting, a locked WAL)
  local id="$1" name="broker-$1" deadline=$((SECONDS + START_TIMEOUT_S)) why=''
  until broker_answers "${id}"; do
    if ! is_running "${name}" && ! is_running "${name}.supervisor"; then
      why="exited ($(cat "${STATE}/${name}.exit" 2>/dev/null || echo 'no exit status'))"
      break
    fi
    if ((SECONDS >= deadline)); then why="did not answer within ${START_TIMEOUT_S} s"; break; fi
    sleep 0.2
  done
  if [[ -n "${why}" ]]; then
    say "${name} on ${HOST}:${BROKER_PORT[${id}]} ${why}; last lines of ${LOGS}/${name}.log:" >&2
    grep -v -e NodeVersionSupportWarning -e 'AWS SDK' "${LOGS}/${name}.log" | tail -n 8 >&2
    return 1
  fi
  say "${name}  ${HOST}:${BROKER_PORT[${id}]} (pid $(pid_of "${name}")), metrics http://${HOST}:${METRICS_PORT[${id}]}/metrics"
}

require_node() {
  command -v node >/dev/null 2>&1 || die "node (20.19+) is needed"
}

build() {
  if [[ "${CLUSTER_SKIP_BUILD:-0}" == 1 ]]; then
    [[ -f "${ROOT}/dist/src/cli.js" ]] || die "dist/src/cli.js missing: run npm run build"
    return 0
  fi
  say "building (npm run build)"
  [[ -d "${ROOT}/node_modules" ]] || die "node_modules missing: run npm ci first"
  npm run build --silent
}

# --- commands --------------------------------------------------------------------------------

cmd_up() {
  require_node
  [[ "${WAL_MODE}" == shared || "${WAL_MODE}" == object ]] ||
    die "CLUSTER_WAL_MODE must be shared or object (cluster mode refuses local), got ${WAL_MODE}"
  build
  mkdir -p "${STATE}" "${LOGS}" "${PIDS}"
  # Keep the state folder out of git without touching the repository's .gitignore.
  [[ -f "${STATE}/.gitignore" ]] || echo '*' >"${STATE}/.gitignore"
  # Settings given for this run (wal mode, lease) win over those written by an earlier up.
  local id
  for id in "${BROKER_IDS[@]}"; do is_running "broker-${id}" || write_broker_config "${id}"; done
  start_etcd
  start_minio
  for id in "${BROKER_IDS[@]}"; do launch_broker "${id}"; done
  local failed=0
  for id in "${BROKER_IDS[@]}"; do wait_broker "${id}" || failed=1; done
  ((failed == 0)) || die "some brokers did not start; 'scripts/cluster-local.sh status' and the logs in ${LOGS} say more"
  if command -v kcat >/dev/null 2>&1; then
    wait_until "three brokers" 20 bash -c '[[ "$(bash "$0" _count)" == 3 ]]' "${BASH_SOURCE[0]}" ||
      say "warning: a Metadata request does not list 3 brokers yet"
  fi
  cat <<EOF

Ledgerstream cluster up: 3 brokers, walMode=${WAL_MODE}, lease ${LEASE_TTL_MS} ms, state in ${STATE}
  bootstrap   ${HOST}:9092,${HOST}:9095,${HOST}:9098
  produce     echo hello | kcat -b ${HOST}:9092 -t demo -P
  consume     kcat -b ${HOST}:9092 -t demo -C -o beginning -e
  metadata    kcat -b ${HOST}:9092 -L            (brokers, and the leader of every partition)
  crash one   scripts/cluster-local.sh kill 2     (SIGKILL; 'stop 2' leaves gracefully)
  bring back  scripts/cluster-local.sh start 2
  status      scripts/cluster-local.sh status
  logs        ${LOGS}/{etcd,minio,broker-1,broker-2,broker-3}.log
  etcd keys   ETCDCTL_API=3 etcdctl --endpoints http://${HOST}:${ETCD_CLIENT_PORT} get --prefix /ledgerstream/ --keys-only
  stop all    npm run cluster:down                (add -- --purge to delete ${STATE})
EOF
}

cmd_down() {
  local purge=0
  [[ "${1:-}" == --purge ]] && purge=1
  local id
  # Brokers one at a time, highest id first: each graceful leave hands its partitions to a broker
  # still running, and needs etcd and MinIO to do it.
  for ((id = ${#BROKER_IDS[@]}; id >= 1; id--)); do
    stop_process "broker-${id}"
    # The supervisor loop ends by itself once the broker exits with anything but 75.
    local sup
    if sup="$(pid_of "broker-${id}.supervisor")"; then
      for _ in $(seq 1 20); do kill -0 "${sup}" 2>/dev/null || break; sleep 0.1; done
      kill -TERM "${sup}" 2>/dev/null || true
    fi
    rm -f "${PIDS}/broker-${id}.supervisor.pid"
  done
  stop_process minio
  stop_process etcd
  if ((purge)); then
    rm -rf "${STATE}"
    say "deleted ${STATE}"
  fi
}

cmd_status() {
  local name pid id
  for name in etcd minio broker-1 broker-2 broker-3; do
    if pid="$(pid_of "${name}")"; then
      printf '  %-9s running  pid %-7s' "${name}" "${pid}"
    else
      printf '  %-9s stopped            ' "${name}"
    fi
    case "${name}" in
      etcd) printf ' http://%s:%s' "${HOST}" "${ETCD_CLIENT_PORT}" ;;
      minio) printf ' http://%s:%s' "${HOST}" "${MINIO_PORT}" ;;
      broker-*)
        id="${name#broker-}"
        printf ' %s:%s' "${HOST}" "${BROKER_PORT[${id}]}"
        if ! is_running "${name}" && [[ -f "${STATE}/${name}.exit" ]]; then
          printf '  (last: %s)' "$(cat "${STATE}/${name}.exit")"
        fi
        ;;
    esac
    printf '\n'
  done
  if command -v kcat >/dev/null 2>&1; then
    for id in "${BROKER_IDS[@]}"; do
      if port_open "${BROKER_PORT[${id}]}"; then
        printf '\nMetadata through %s:%s:\n' "${HOST}" "${BROKER_PORT[${id}]}"
        timeout 5 kcat -L -b "${HOST}:${BROKER_PORT[${id}]}" -m 3 2>&1 | sed 's/^/  /' || true
        return 0
      fi
    done
  fi
}

check_id() {
  [[ -n "${1:-}" && -n "${BROKER_PORT[${1}]+x}" ]] || die "broker id must be one of ${BROKER_IDS[*]}, got '${1:-}'"
}

cmd_kill() { # id
  check_id "${1:-}"
  local name="broker-$1" pid
  pid="$(pid_of "${name}")" || die "${name} is not running"
  kill -KILL "${pid}"
  local ttl
  ttl="$(sed -n 's/.*"leaseTtlMs": *\([0-9]*\).*/\1/p' "${STATE}/${name}.json" 2>/dev/null)"
  say "SIGKILLed ${name} (pid ${pid}) at $(date -u +%T.%3N) UTC; its partitions move once its lease (${ttl:-?} ms) expires"
  say "watch: kcat -b ${HOST}:9092 -L | grep leader   (bootstrap from a live broker)"
}

cmd_stop() { # id
  check_id "${1:-}"
  is_running "broker-$1" || die "broker-$1 is not running"
  stop_process "broker-$1"
}

cmd_start() { # id
  require_node
  check_id "${1:-}"
  is_running etcd || die "etcd is not running: run 'scripts/cluster-local.sh up'"
  is_running minio || die "minio is not running: run 'scripts/cluster-local.sh up'"
  [[ -f "${ROOT}/dist/src/cli.js" ]] || die "dist/src/cli.js missing: run npm run build"
  launch_broker "$1"
  wait_broker "$1"
}

cmd_logs() {
  local name="${1:-}"
  [[ "${name}" =~ ^[0-9]+$ ]] && name="broker-${name}"
  [[ -f "${LOGS}/${name}.log" ]] || die "no log ${LOGS}/${name}.log (etcd, minio, 1, 2 or 3)"
  exec tail -n 50 -f "${LOGS}/${name}.log"
}

case "${1:-}" in
  up) cmd_up ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  kill) cmd_kill "${2:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  start) cmd_start "${2:-}" ;;
  logs) cmd_logs "${2:-}" ;;
  _count) live_broker_count ;;
  *)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
    [[ -z "${1:-}" || "${1}" == help || "${1}" == -h || "${1}" == --help ]] || exit 2
    ;;
esac
