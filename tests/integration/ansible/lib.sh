# Shared by tests/integration/test_ansible_*.sh (POSIX sh; source after
# tests/integration/lib.sh).  Runs Ansible with provisioning/ansible's
# ansible.cfg, from any directory, and checks the tools are there.

AN_DIR=$(pwd)/provisioning/ansible
export ANSIBLE_CONFIG="$AN_DIR/ansible.cfg"
export ANSIBLE_NOCOLOR=1
# no __pycache__ next to filter_plugins/beacon.py in the work tree
export PYTHONDONTWRITEBYTECODE=1
export ANSIBLE_FORCE_COLOR=0
export ANSIBLE_RETRY_FILES_ENABLED=0
export ANSIBLE_LOCAL_TEMP="${TMPDIR:-/tmp}/beacond-ansible-local.$$"
# Debian's ansible lives in /usr/bin and /usr/lib/python3 (a pyenv or venv python3
# earlier in PATH would not see its modules).
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PATH

an_require() {
	for _t in "$@"; do
		command -v "$_t" > /dev/null 2>&1 ||
			it_fail "$_t is not installed (sh tests/deps.sh installs ansible, ansible-lint, debootstrap)"
	done
}

# an_recap LOG: the PLAY RECAP lines of an ansible-playbook log.
an_recap() { sed -n '/^PLAY RECAP/,/^$/p' "$1" | grep -E 'ok=' ; }

# an_sum LOG FIELD: FIELD (ok, changed, failed, unreachable, skipped) summed over the recap.
an_sum() {
	an_recap "$1" | tr -s ' ' '\n' | awk -F= -v f="$2" '$1 == f { s += $2 } END { print s + 0 }'
}

# an_expect_in LOG TEXT WHAT: the fixed string TEXT occurs in LOG.
an_expect_in() {
	grep -qF -- "$2" "$1" || it_fail "$3: '$2' not in $1"
}
an_expect_not_in() {
	if grep -qF -- "$2" "$1"; then it_fail "$3: '$2' in $1"; fi
}

an_now() { date +%s; }

# Directories removed at exit (with Ansible's local temp).
AN_CLEAN=""
an_cleanup() {
	it_cleanup
	rm -rf "$ANSIBLE_LOCAL_TEMP"
	for _d in $AN_CLEAN; do rm -rf "$_d"; done
}
trap an_cleanup EXIT
trap 'exit 130' INT TERM
