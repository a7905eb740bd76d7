# Stand-in for apache/kafka: Apache Kafka's jars as bench/kafka/fetch-kafka.sh fetches them from
# Maven Central for the tests (.ci/install-kafka.sh), on the locally built Debian base with
# Debian's Java 17 runtime (scripts/docker/build-images.sh stages kafka/libs and entrypoint.sh).
# Configured like apache/kafka: KAFKA_<NAME> environment variables become server properties
# (kafka-entrypoint.sh), CLUSTER_ID names the KRaft cluster.
ARG BASE_IMAGE=ledgerstream/base:bookworm
FROM ${BASE_IMAGE}
ARG KAFKA_VERSION
RUN apt-get update -qq \
 && mkdir -p /usr/share/man/man1 \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      openjdk-17-jre-headless >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && java -version
COPY kafka/ /opt/kafka/
COPY entrypoint.sh /opt/kafka/entrypoint.sh
RUN chmod +x /opt/kafka/entrypoint.sh && mkdir -p /var/lib/kafka/data
ENV KAFKA_VERSION=${KAFKA_VERSION}
EXPOSE 9092
ENTRYPOINT ["/opt/kafka/entrypoint.sh"]
