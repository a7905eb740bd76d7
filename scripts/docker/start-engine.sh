#!/usr/bin/env bash
# Installs and starts a docker engine on a Debian 12 machine without systemd (as the development
# machines are): Debian's docker.io (engine 20.10, with containerd and runc) and debootstrap
# (for scripts/docker/build-images.sh), then dockerd in the background, logging to
# /var/log/dockerd.log. Idempotent: does nothing when `docker info` already answers.
# Needs root. With systemd, `systemctl start docker` does the same as the last step.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  echo "start-engine: engine $(docker info -f '{{.ServerVersion}}') answers"
  exit 0
fi
[[ "$(id -u)" == "0" ]] || { echo "start-engine: needs root" >&2; exit 1; }

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "start-engine: apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "start-engine: starting dockerd (log: /var/log/dockerd.log)"
nohup dockerd >/var/log/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "start-engine: engine $(docker info -f '{{.ServerVersion}}') answers (dockerd pid $!)"
    exit 0
  fi
  sleep 0.5
done
echo "start-engine: dockerd did not answer in 30 s; last lines of /var/log/dockerd.log:" >&2
tail -n 20 /var/log/dockerd.log >&2
exit 1
