#!/usr/bin/env bash
# Starts one Apache Kafka node (KRaft) from the jars in /opt/kafka/libs, configured as the
# apache/kafka image is: every KAFKA_<NAME> environment variable becomes the property <name>
# (lower case, '_' -> '.', '__' -> '_', '___' -> '-'), e.g. KAFKA_NODE_ID=1 -> node.id=1.
# CLUSTER_ID (required) formats the log folder on the first start.
set -euo pipefail
: "${CLUSTER_ID:?CLUSTER_ID is required (22 characters, URL-safe base64 of 16 bytes)}"
config=/opt/kafka/server.properties
: >"${config}"
while IFS='=' read -r name value; do
  case "${name}" in
    KAFKA_VERSION | KAFKA_HEAP_OPTS | KAFKA_JVM_OPTS) continue ;;
    KAFKA_*) ;;
    *) continue ;;
  esac
  key="${name#KAFKA_}"
  key="${key//___/-}"
  key="${key//__/@}"
  key="${key//_/.}"
  key="${key//@/_}"
  echo "${key,,}=${value}" >>"${config}"
done < <(env)
classpath='/opt/kafka/libs/*'
log4j="-Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties"
log_dir="$(sed -n 's/^log\.dirs=//p' "${config}" | cut -d, -f1)"
if [[ ! -f "${log_dir:-/var/lib/kafka/data}/meta.properties" ]]; then
  java -Xmx256m "${log4j}" -cp "${classpath}" kafka.tools.StorageTool \
    format --ignore-formatted -t "${CLUSTER_ID}" -c "${config}"
fi
# Heap sized for a side-by-side comparison on a laptop, as bench/compare runs it.
exec java ${KAFKA_HEAP_OPTS:--Xmx1g -Xms1g} ${KAFKA_JVM_OPTS:-} "${log4j}" \
  -Dkafka.logs.dir=/var/lib/kafka/logs -cp "${classpath}" kafka.Kafka "${config}"
