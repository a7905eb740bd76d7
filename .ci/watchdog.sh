#!/usr/bin/env bash
# Usage: .ci/watchdog.sh LIMIT_S COMMAND...
#
# Runs COMMAND in its own process group and waits at most LIMIT_S seconds. Past that, the run is
# taken for hung: prints the process tree and, for every Node.js process, the JavaScript stack
# and open handles from a diagnostic report (node --report-on-signal, asked for with SIGUSR2),
# then kills the group and exits 124. Why: a test whose event loop is blocked never reaches its
# own vitest timeout, and CI's limit kills the machine without a word on what was stuck.
set -uo pipefail

limit_s="$1"
shift
reports="$(mktemp -d "${TMPDIR:-/tmp}/ledgerstream-reports.XXXXXX")"
export NODE_OPTIONS="${NODE_OPTIONS:-} --report-on-signal --report-signal=SIGUSR2 --report-directory=${reports}"

set -m # the command gets a process group of its own, so that all of it can be killed
"$@" &
pid=$!
set +m

deadline_s=$((SECONDS + limit_s))
while kill -0 "${pid}" 2>/dev/null && ((SECONDS < deadline_s)); do
  sleep 2
done
if ! kill -0 "${pid}" 2>/dev/null; then
  wait "${pid}"
  exit $?
fi

echo
echo "watchdog: '$*' still running after ${limit_s} s: taken for hung"
echo "watchdog: process tree:"
ps -eo pid,ppid,pgid,stat,etimes,pcpu,rss,args --forest 2>/dev/null | cut -c1-220 || true
node_pids="$(pgrep -x node || true)"
for p in ${node_pids}; do kill -USR2 "${p}" 2>/dev/null || true; done
sleep 10
node --experimental-websocket --no-warnings "$(dirname "$0")/node-stacks.cjs" "${reports}" ${node_pids} || true
kill -- -"${pid}" 2>/dev/null || true
sleep 2
kill -9 -- -"${pid}" 2>/dev/null || true
exit 124
