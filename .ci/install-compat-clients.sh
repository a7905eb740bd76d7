#!/usr/bin/env bash
# Installs what the real-client compatibility tests need beyond Java (.ci/install-kafka.sh):
#
# - librdkafka through confluent-kafka-python (test/compat/python-client.test.ts): Debian's
#   python3-confluent-kafka (for /usr/bin/python3, on Debian's librdkafka, as kcat uses), or, where
#   Debian's package is not to be had, confluent-kafka from PyPI in a venv at
#   ~/.cache/ledgerstream/python-venv (where the test looks for it).
# - franz-go (test/compat/franz-client.test.ts): the modules pinned in test/compat/franz/go.sum,
#   from the Go module proxy, and a build of the program, so that Go's build cache holds franz-go
#   compiled and the test's own build (once per source content) only links (seconds, not ~25 s).
#
# Idempotent: each step skips what is already there; a second run needs no network.
set -euo pipefail
cd "$(dirname "$0")/.."

CONFLUENT_KAFKA_PYPI_VERSION="2.16.1"
CACHE_DIR="${XDG_CACHE_HOME:-${HOME}/.cache}/ledgerstream"
VENV="${CACHE_DIR}/python-venv"

sudo_cmd=()
if [[ "$(id -u)" != "0" ]]; then
  sudo_cmd=(sudo)
fi
apt_updated=0
apt_update_once() {
  if [[ ${apt_updated} -eq 0 ]]; then
    "${sudo_cmd[@]}" apt-get update -qq
    apt_updated=1
  fi
}

have_confluent_kafka() {
  "$1" -c 'import confluent_kafka' >/dev/null 2>&1
}
describe_client() {
  "$1" -c 'import confluent_kafka as c; v = c.version(); v = v if isinstance(v, str) else v[0]; print("confluent-kafka", v, "librdkafka", c.libversion()[0])'
}

# --- librdkafka via confluent-kafka-python ---------------------------------------------------
if [[ -x /usr/bin/python3 ]] && have_confluent_kafka /usr/bin/python3; then
  echo "install-compat-clients: /usr/bin/python3 has $(describe_client /usr/bin/python3)"
elif [[ -x "${VENV}/bin/python" ]] && have_confluent_kafka "${VENV}/bin/python"; then
  echo "install-compat-clients: ${VENV} has $(describe_client "${VENV}/bin/python")"
else
  installed=0
  if command -v apt-get >/dev/null 2>&1; then
    apt_update_once
    if apt-cache show python3-confluent-kafka >/dev/null 2>&1; then
      echo "install-compat-clients: installing python3-confluent-kafka (Debian)"
      "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends python3-confluent-kafka >/dev/null
      installed=1
    fi
  fi
  if [[ ${installed} -eq 1 ]] && have_confluent_kafka /usr/bin/python3; then
    echo "install-compat-clients: /usr/bin/python3 has $(describe_client /usr/bin/python3)"
  else
    # No Debian package: PyPI's wheel, which bundles its own librdkafka, in a venv (Debian's
    # Python refuses `pip install` outside one, PEP 668).
    python=/usr/bin/python3
    [[ -x "${python}" ]] || python="$(command -v python3)"
    if ! "${python}" -m venv --help >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
      apt_update_once
      "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    fi
    echo "install-compat-clients: installing confluent-kafka==${CONFLUENT_KAFKA_PYPI_VERSION} (PyPI) into ${VENV}"
    mkdir -p "${CACHE_DIR}"
    "${python}" -m venv "${VENV}"
    "${VENV}/bin/pip" install -q --disable-pip-version-check "confluent-kafka==${CONFLUENT_KAFKA_PYPI_VERSION}"
    echo "install-compat-clients: ${VENV} has $(describe_client "${VENV}/bin/python")"
  fi
fi

# --- franz-go ----------------------------------------------------------------------------------
if ! command -v go >/dev/null 2>&1; then
  echo "install-compat-clients: 'go' is needed for test/compat/franz (franz-go needs Go >= 1.26; an older" >&2
  echo "go fetches that toolchain from the module proxy by itself); install Go, or set LEDGERSTREAM_GO" >&2
  exit 1
fi
(
  cd test/compat/franz
  go mod download
  # The test's own build flags (test/compat/franz-client.test.ts), so the build cache matches.
  go build -mod=readonly -buildvcs=false -trimpath -o /dev/null .
)
echo "install-compat-clients: franz-go $(cd test/compat/franz && go list -m -f '{{.Version}}' github.com/twmb/franz-go)," \
  "kadm $(cd test/compat/franz && go list -m -f '{{.Version}}' github.com/twmb/franz-go/pkg/kadm) built with $(go version | cut -d' ' -f3)"
