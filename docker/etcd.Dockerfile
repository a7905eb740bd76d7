# Stand-in for quay.io/coreos/etcd: etcd and etcdctl from Debian's etcd-server and etcd-client
# (.ci/install-etcd.sh), on the locally built Debian base (scripts/docker/build-images.sh).
ARG BASE_IMAGE=ledgerstream/base:bookworm
FROM ${BASE_IMAGE}
COPY etcd etcdctl /usr/local/bin/
RUN etcd --version | head -n 1
EXPOSE 2379 2380
ENTRYPOINT ["/usr/local/bin/etcd"]
