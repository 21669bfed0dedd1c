#!/bin/sh
# Installs the Debian packages Steward needs to build, test and demo; idempotent.
set -eu

PKGS="build-essential cmake pkg-config clang libclang-rt-dev
libssl-dev openssl libevent-dev libsqlite3-dev sqlite3
libjansson-dev libcmocka-dev libpq-dev curl strace python3 bc iproute2"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing; run as root or install them" >&2
	exit 1
fi

echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
