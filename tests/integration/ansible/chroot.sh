# The Debian root of test_ansible_apply.sh (POSIX sh; source it): made with
# debootstrap from this machine's Debian mirror, cached as a tarball keyed by
# its package list, mounted (proc, sys) for the roles and always unmounted.
#
#   CR_CACHE   cache directory (default /var/cache/beacond-ci)
#   CR_ROOT    the root, set by cr_create

CR_SUITE=bookworm
CR_VARIANT=minbase
# python3 for Ansible; systemd as on every real host (units, systemd-analyze);
# ca-certificates and gnupg are what apt needs on a minbase root.
CR_INCLUDE=python3,systemd,ca-certificates
CR_FORMAT=3          # bump when the way the cached root is made changes
CR_CACHE=${CR_CACHE:-/var/cache/beacond-ci}
CR_ROOT=""
CR_TOP=""

# cr_mirror: the first Debian archive URI of this machine's apt sources
# serving the suite (one-line .list files and deb822 .sources files).
cr_mirror() {
	for _f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$_f" ] || continue
		awk -v s="$CR_SUITE" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
			if ($(i + 1) == s) { print $i; exit } }' "$_f"
	done | head -n 1 > "$CR_WORK/mirror.list"
	for _f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$_f" ] || continue
		awk -v s="$CR_SUITE" 'BEGIN { RS = ""; FS = "\n" }
			{ t = ""; u = ""; su = ""; en = "yes"
			  for (k = 1; k <= NF; k++) {
				if ($k ~ /^Types:/) t = $k; if ($k ~ /^URIs:/) u = $k
				if ($k ~ /^Suites:/) su = $k; if ($k ~ /^Enabled: *no/) en = "no" }
			  if (en == "yes" && t ~ /[ \t]deb([ \t]|$)/ && (" " su " ") ~ ("[ \t]" s "[ \t]")) {
				sub(/^URIs:[ \t]*/, "", u); split(u, a, /[ \t]+/); print a[1]; exit } }' "$_f"
	done | head -n 1 > "$CR_WORK/mirror.sources"
	cat "$CR_WORK/mirror.list" "$CR_WORK/mirror.sources" | head -n 1
}

cr_key() {
	printf '%s %s %s %s\n' "$CR_SUITE" "$CR_VARIANT" "$CR_INCLUDE" "$CR_FORMAT" | sha256sum | cut -c1-16
}

# cr_mounted: the mount points under CR_TOP, deepest first.
cr_mounted() {
	[ -n "$CR_TOP" ] || return 0
	awk -v t="$CR_TOP/" '{ m = $2; gsub(/\\040/, " ", m); if (index(m "/", t) == 1) print m }' /proc/self/mounts | sort -r
}

cr_umount_all() {
	for _m in $(cr_mounted); do
		umount "$_m" 2>/dev/null || umount -l "$_m" 2>/dev/null || true
	done
}

# cr_destroy: unmount everything under the root, check that nothing is left
# mounted, only then delete it (never across a file system boundary).
cr_destroy() {
	[ -n "$CR_TOP" ] && [ -d "$CR_TOP" ] || return 0
	cr_umount_all
	_left=$(cr_mounted)
	if [ -n "$_left" ]; then
		echo "chroot: STILL MOUNTED, not deleting $CR_TOP: $_left" >&2
		return 1
	fi
	rm -rf --one-file-system "$CR_TOP"
	CR_TOP=""
}

cr_mount() {
	mount -t proc proc "$CR_ROOT/proc"
	mount -t sysfs -o ro sysfs "$CR_ROOT/sys"
}

# cr_bootstrap TARBALL: debootstrap a root, fill its apt lists, tar it up.
cr_bootstrap() {
	_mirror=$(cr_mirror)
	[ -n "$_mirror" ] || it_fail "no apt source for $CR_SUITE in /etc/apt/sources.list{,.d}"
	it_log "cold: debootstrap --variant=$CR_VARIANT --include=$CR_INCLUDE $CR_SUITE from $_mirror"
	_b=$CR_TOP/bootstrap
	mkdir -p "$_b"
	if ! debootstrap --variant="$CR_VARIANT" --include="$CR_INCLUDE" "$CR_SUITE" "$_b" "$_mirror" \
		> "$CR_WORK/debootstrap.log" 2>&1; then
		tail -n 20 "$CR_WORK/debootstrap.log" >&2
		it_fail "debootstrap failed (log: $CR_WORK/debootstrap.log)"
	fi
	chroot "$_b" apt-get update -qq > "$CR_WORK/apt-update.log" 2>&1 || it_fail "apt-get update in the new root"
	chroot "$_b" apt-get clean
	mkdir -p "$CR_CACHE"
	tar -C "$_b" --numeric-owner --one-file-system -cf - . | zstd -q -T0 -3 -o "$1.tmp" ||
		it_fail "cannot write $1"
	mv "$1.tmp" "$1"
	rm -rf --one-file-system "$_b"
	# older roots of this test (another package list or format)
	for _o in "$CR_CACHE"/debootstrap-"$CR_SUITE"-*.tar.zst; do
		[ "$_o" = "$1" ] || rm -f "$_o"
	done
}

# cr_create: a fresh root from the cache (made first if missing), mounted,
# with the cached .deb files in its apt archive and no service ever started by
# a package's maintainer scripts (policy-rc.d).
cr_create() {
	CR_TOP=$(mktemp -d "${TMPDIR:-/var/tmp}/beacond-chroot.XXXXXX")
	CR_ROOT=$CR_TOP/root
	_tar=$CR_CACHE/debootstrap-$CR_SUITE-$(cr_key).tar.zst
	if [ -s "$_tar" ]; then
		CR_COLD=0
		it_log "warm: root from $_tar"
	else
		CR_COLD=1
		cr_bootstrap "$_tar"
	fi
	mkdir -p "$CR_ROOT"
	zstd -q -d -c "$_tar" | tar -C "$CR_ROOT" --numeric-owner -xf - || it_fail "cannot unpack $_tar"
	printf '#!/bin/sh\nexit 101\n' > "$CR_ROOT/usr/sbin/policy-rc.d"
	chmod 755 "$CR_ROOT/usr/sbin/policy-rc.d"
	cp /etc/resolv.conf "$CR_ROOT/etc/resolv.conf" 2>/dev/null || true
	if [ -d "$CR_CACHE/apt-archives" ]; then
		find "$CR_CACHE/apt-archives" -name '*.deb' -exec cp -t "$CR_ROOT/var/cache/apt/archives/" {} +
	fi
	cr_mount
}

# cr_save_debs: keep the packages the roles downloaded for the next run
# (exactly the root's archive: superseded versions go).
cr_save_debs() {
	rm -rf "$CR_CACHE/apt-archives.new"
	mkdir -p "$CR_CACHE/apt-archives.new"
	find "$CR_ROOT/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -exec cp -t "$CR_CACHE/apt-archives.new/" {} +
	rm -rf "$CR_CACHE/apt-archives"
	mv "$CR_CACHE/apt-archives.new" "$CR_CACHE/apt-archives"
}
