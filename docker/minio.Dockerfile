# Stand-in for minio/minio: the minio binary .ci/install-s3-server.sh builds for the tests, on the
# locally built Debian base (scripts/docker/build-images.sh).
ARG BASE_IMAGE=ledgerstream/base:bookworm
FROM ${BASE_IMAGE}
COPY minio /usr/local/bin/minio
RUN minio --version | head -n 1
ENV MINIO_UPDATE=off
EXPOSE 9000 9001
VOLUME /data
ENTRYPOINT ["minio"]
CMD ["server", "/data", "--address", ":9000", "--console-address", ":9001"]
