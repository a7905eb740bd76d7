#!/usr/bin/env bash
# Installs what the Apache Kafka Java-client compatibility tests (test/compat/java-client.test.ts)
# and the real-Kafka benchmarks need: a JDK 17+ (java and javac) and Maven, from Debian's packages
# when missing, then Apache Kafka's jars from Maven Central into the cache folder
# (bench/kafka/fetch-kafka.sh; ~55 MB the first time, seconds). Idempotent: every step skips what
# is already there, and a cached copy of the jars needs no network.
#
# Environment: LEDGERSTREAM_KAFKA_VERSION / LEDGERSTREAM_KAFKA_HOME as fetch-kafka.sh reads them.
set -euo pipefail
cd "$(dirname "$0")/.."

java_major() {
  # `java -version` prints e.g. 'openjdk version "17.0.15" 2025-04-15' (or "1.8.0_..." for 8).
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)\(\.\([0-9]*\)\)\{0,1\}.*/\1 \3/p' | head -n 1 |
    awk '{ print ($1 == 1 ? $2 : $1) }'
}

apt_updated=0
apt_install() {
  if [[ ${apt_updated} -eq 0 ]]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Kafka 4.x tools and broker need Java 17+; javac compiles test/compat/java/*.java.
if ! command -v javac >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1 || [[ "$(java_major)" -lt 17 ]]; then
  echo "install-kafka: installing a JDK 17+ (Debian)"
  pkg="$(apt-cache show openjdk-17-jdk-headless >/dev/null 2>&1 && echo openjdk-17-jdk-headless || echo default-jdk-headless)"
  apt_install "${pkg}"
fi
echo "install-kafka: java $(java_major) at $(command -v java)"

if ! command -v mvn >/dev/null 2>&1; then
  echo "install-kafka: installing Maven (Debian)"
  apt_install maven
fi

libs="$(bash bench/kafka/fetch-kafka.sh)"
echo "install-kafka: Kafka jars in ${libs}"
