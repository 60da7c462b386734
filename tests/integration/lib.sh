# Shared helpers for integration tests (POSIX sh).  Source it.
# Every wait has a deadline and says what it waited for; every started
# process is recorded and stopped by cleanup, which tests install as a trap.

IT_PIDS=""

it_fail() { echo "$IT_NAME: FAIL: $*" >&2; exit 1; }
it_log() { echo "$IT_NAME: $*"; }

# it_wait SECONDS WHAT CMD...: retry CMD every 0.1 s until it succeeds.
it_wait() {
	_secs=$1; _what=$2; shift 2
	_end=$(( $(date +%s) + _secs ))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$_end" ] || it_fail "timed out after ${_secs}s waiting for $_what"
		sleep 0.1
	done
}

# it_start NAME CMD...: start CMD in the background, logging to build/it/NAME.log.
it_start() {
	_n=$1; shift
	"$@" > "build/it/$_n.log" 2>&1 &
	IT_PIDS="$IT_PIDS $!"
	eval "IT_PID_$_n=$!"
}

it_cleanup() {
	for p in $IT_PIDS; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $IT_PIDS; do
		_i=0
		while kill -0 "$p" 2>/dev/null && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
		kill -KILL "$p" 2>/dev/null || true
	done
	IT_PIDS=""
}

mkdir -p build/it
trap it_cleanup EXIT INT TERM
