#!/usr/bin/env bash
# Fetches Apache Kafka's jars (broker, CLI tools, Java client and their runtime dependencies)
# from Maven Central with bench/kafka/pom.xml into a cache folder laid out like a Kafka
# distribution, and prints the jars' folder (the classpath is '<that folder>/*') as the last
# line of stdout. Progress goes to stderr.
#
#   <home>/libs/*.jar                       the classpath
#   <home>/config/tools-log4j2.properties   quiet logging for the CLI tools (WARN, to stderr)
#   <home>/config/log4j2.properties         INFO to stdout, for running a real Kafka broker
#
# <home> is $LEDGERSTREAM_KAFKA_HOME, else ~/.cache/ledgerstream/kafka-<version> (honouring
# $XDG_CACHE_HOME). The version is $LEDGERSTREAM_KAFKA_VERSION, else the pom's default.
# Idempotent: a folder that already holds a complete copy (marker file .complete naming the
# version) is left alone, so the second run takes milliseconds and needs no network.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pom="${here}/pom.xml"
default_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "${pom}" | head -n 1)"
version="${LEDGERSTREAM_KAFKA_VERSION:-${default_version}}"
home="${LEDGERSTREAM_KAFKA_HOME:-${XDG_CACHE_HOME:-${HOME}/.cache}/ledgerstream/kafka-${version}}"
libs="${home}/libs"
marker="${home}/.complete"

if [[ -f "${marker}" && "$(cat "${marker}")" == "${version}" && -f "${libs}/kafka-clients-${version}.jar" ]]; then
  echo "${libs}"
  exit 0
fi

if ! command -v mvn >/dev/null 2>&1; then
  echo "fetch-kafka: 'mvn' (Maven 3.6+) is needed to fetch Kafka ${version} from Maven Central" >&2
  exit 1
fi

echo "fetch-kafka: fetching Apache Kafka ${version} jars into ${libs}" >&2
start_s=${SECONDS}
rm -rf "${libs}" "${marker}"
mkdir -p "${libs}" "${home}/config"
# The build directory goes to the cache too, so the checkout gets no target/ folder.
tmp_build="$(mktemp -d "${home}/.build.XXXXXX")"
trap 'rm -rf "${tmp_build}"' EXIT
# Maven's log goes to a file, shown only if it fails.
log="${home}/maven.log"
if ! mvn -B -Dstyle.color=never -f "${pom}" package \
  -Dkafka.version="${version}" \
  -Dkafka.libs.dir="${libs}" \
  -Dproject.build.directory="${tmp_build}" >"${log}" 2>&1; then
  tail -n 60 "${log}" >&2
  echo "fetch-kafka: Maven failed fetching Kafka ${version} (full log: ${log})" >&2
  exit 1
fi

for jar in "kafka-clients-${version}.jar" "kafka-tools-${version}.jar" "kafka_2.13-${version}.jar"; do
  if [[ ! -f "${libs}/${jar}" ]]; then
    echo "fetch-kafka: ${jar} is missing from ${libs} after Maven ran" >&2
    exit 1
  fi
done

cat > "${home}/config/tools-log4j2.properties" <<'PROPS'
# Kafka CLI tools and small programs: warnings and errors only, on stderr (stdout stays the
# tool's output).
status = error
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = STDERR
PROPS

cat > "${home}/config/log4j2.properties" <<'PROPS'
# A real Kafka broker (benchmarks): INFO to stdout, noisy internals at WARN.
status = error
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = info
logger.apache.name = org.apache.kafka
logger.apache.level = info
PROPS

echo "${version}" > "${marker}"
echo "fetch-kafka: $(find "${libs}" -name '*.jar' | wc -l) jars in $((SECONDS - start_s)) s" >&2
echo "${libs}"
