#!/bin/sh
# Install every Debian package the project needs (root, non-interactive,
# idempotent).  Skips apt entirely when everything is already there.
set -eu
PKGS="build-essential pkg-config clang libclang-rt-14-dev libcunit1-dev libssl-dev
libjsmn-dev libinih-dev librdkafka-dev libcurl4-openssl-dev libjemalloc-dev
libdpdk-dev libhttp-parser-dev kcat prometheus wrk python3 valgrind"
PKGS="$PKGS clickhouse-server clickhouse-client zookeeper curl iproute2"  # ClickHouse schema/cluster tests (etl/clickhouse)
PKGS="$PKGS gnuplot-nox"  # beacon-etl soak plot (perf/soak_etl.sh)
PKGS="$PKGS graphviz fonts-dejavu-core python3-yaml"  # docs/diagrams/render.sh; monitoring tests (PyYAML)
PKGS="$PKGS ansible ansible-lint debootstrap zstd"  # provisioning/ansible tests (test_ansible_*.sh)
PKGS="$PKGS postgresql-15 postgresql-client-15 libpq-dev"  # read side: etl/pg (state store), beacon-api
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
echo "deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: must run as root to install packages" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
echo "deps: done"
