#!/bin/sh
# loopback_only.sh PIDS_FILE: every TCP socket that the processes listed in
# PIDS_FILE ("NAME PID" lines, as etl/clickhouse/ch-*.sh write) listen on is
# bound to 127.0.0.1 (or its IPv4-mapped form); at least one listens.
set -eu
found=0
while read -r name pid; do
	kill -0 "$pid" 2>/dev/null || continue
	for a in $(ss -Hltnp | grep "pid=$pid," | awk '{ print $4 }'); do
		found=1
		case "$a" in
		127.0.0.1:*|\[::ffff:127.0.0.1\]:*) ;;
		*) echo "loopback_only: $name (pid $pid) listens on $a" >&2; exit 1 ;;
		esac
	done
done < "$1"
[ "$found" = 1 ] || { echo "loopback_only: nothing listens" >&2; exit 1; }
