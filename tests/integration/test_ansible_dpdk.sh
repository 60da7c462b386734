#!/bin/sh
# Role dpdk_host (and beacond's DPDK-mode files) against two fixtures of
# /proc/cpuinfo and `lspci -Dnn` (tests/integration/ansible/dpdk/), through
# site.yml with a local connection; every file the role writes goes under a
# sandbox root (dpdk_host_root), nothing on this machine is touched (~1 min):
#
#   intel: GenuineIntel with pdpe1gb, 8 CPUs, two E810 ports by PCI address,
#          driverctl overrides  -> 4 x 1G pages, isolcpus=2-7, intel_iommu=on
#   amd:   AuthenticAMD without pdpe1gb, 16 CPUs, 82599 ports by vendor:device
#          id plus a ConnectX-5 (bifurcated: a port, never bound), a
#          dpdk-devbind.py unit  -> 2048 x 2M pages, isolcpus=4-11, amd_iommu=on
#
# For each: (1) --check --diff: the diff holds the expected GRUB_CMDLINE_LINUX
# (the old hugepages=16 replaced, console= kept), the hugetlbfs mount unit,
# vfio-pci in modules-load.d, the NIC binding, beacond.ini with driver dpdk,
# its ports and lcores and the unit's CPUAffinity, capabilities and
# RequiresMountsFor; the reboot handler is notified; the sandbox is unchanged.
# (2) a real apply into the sandbox.  (3) --check --diff again, the command
# line now present: changed=0 and no handler (no update-grub, no reboot).
set -eu
IT_NAME=test_ansible_dpdk
. tests/integration/lib.sh
. tests/integration/ansible/lib.sh
W=$(pwd)/build/it/ansible-dpdk
rm -rf "$W"
mkdir -p "$W"
an_require ansible-playbook
[ -x build/beacond ] || it_fail "build/beacond missing (make build/beacond)"
FX=$(pwd)/tests/integration/ansible/dpdk
# The sandbox roots hold directories named *.d: not under build/, where the
# Makefile includes every *.d it finds.
SB=$(mktemp -d "${TMPDIR:-/tmp}/beacond-ansible-dpdk.XXXXXX")
AN_CLEAN=$SB
t0=$(an_now)

# inventory CASE NICS_YAML EXTRA_YAML: a local host in dpdk_hosts and beacon_nodes.
inventory() {
	cat > "$W/$1/hosts.yml" <<EOT
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: /usr/bin/python3
    deploy_start_services: false
    beacond_jwt_keys: test-key
    kafka_bootstrap_servers: ['127.0.0.1:9092']
    dpdk_host_root: $SB/$1/root
    dpdk_host_cpuinfo_file: $FX/$1/cpuinfo
    dpdk_host_lspci_file: $FX/$1/lspci
    dpdk_host_proc_cmdline_file: $FX/cmdline
$3
  children:
    beacon_nodes:
      hosts:
        dpdk-$1: {service_address: 127.0.0.1}
    dpdk_hosts:
      hosts:
        dpdk-$1:
$2
EOT
}

# play CASE NAME ARGS...: site.yml on CASE's inventory; log in $W/CASE/NAME.log.
play() {
	_c=$1; _n=$2; shift 2
	if ! (cd "$AN_DIR" && ansible-playbook -i "$W/$_c/hosts.yml" site.yml "$@") > "$W/$_c/$_n.log" 2>&1; then
		tail -n 40 "$W/$_c/$_n.log" >&2
		it_fail "$_c: ansible-playbook $_n failed (log: $W/$_c/$_n.log)"
	fi
}

run_case() {
	c=$1; cmdline=$2; size=$3; pages=$4; iso=$5; ports=$6; affinity=$7
	L=$W/$c
	R=$SB/$c/root
	mkdir -p "$R/etc/default" "$R/etc/systemd/system" "$R/etc/modules-load.d" "$R/etc/udev/rules.d"
	cp "$FX/grub" "$R/etc/default/grub"
	find "$R" -type f | sort | xargs md5sum > "$L/before.md5"

	# (1) check mode, pristine host
	play "$c" check1 --check --diff --tags dpdk_host,beacond
	an_expect_in "$L/check1.log" "+GRUB_CMDLINE_LINUX=\"console=tty0 console=ttyS0,115200n8 $cmdline\"" "$c: kernel command line"
	an_expect_in "$L/check1.log" "-GRUB_CMDLINE_LINUX=\"console=tty0 console=ttyS0,115200n8 hugepages=16\"" "$c: old command line"
	an_expect_in "$L/check1.log" "+Options=pagesize=$size,mode=1770,gid=dpdk" "$c: hugetlbfs mount unit"
	an_expect_in "$L/check1.log" "+Where=/mnt/hugepages" "$c: hugetlbfs mount point"
	an_expect_in "$L/check1.log" "+vfio-pci" "$c: modules-load.d"
	an_expect_in "$L/check1.log" "RUNNING HANDLER [dpdk_host : Reboot for the new kernel command line]" "$c: reboot handler notified"
	an_expect_in "$L/check1.log" "RUNNING HANDLER [dpdk_host : Update the boot loader]" "$c: update-grub handler notified"
	an_expect_in "$L/check1.log" "$pages x $size hugepages, isolated CPUs $iso, ports $ports" "$c: derived settings"
	# beacond in DPDK mode (its files, as check mode shows them)
	an_expect_in "$L/check1.log" "+name = dpdk" "$c: beacond.ini driver"
	an_expect_in "$L/check1.log" "+ports = $ports" "$c: beacond.ini dpdk.ports"
	an_expect_in "$L/check1.log" "+lcores = $iso" "$c: beacond.ini dpdk.lcores"
	an_expect_in "$L/check1.log" "+eal_args = --file-prefix beacond --huge-unlink --huge-dir /mnt/hugepages" "$c: EAL args"
	an_expect_in "$L/check1.log" "+CPUAffinity=$affinity" "$c: unit CPUAffinity"
	an_expect_in "$L/check1.log" "+RequiresMountsFor=/mnt/hugepages" "$c: unit after the hugepage mount"
	an_expect_in "$L/check1.log" "+AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_IPC_LOCK CAP_SYS_ADMIN CAP_SYS_RAWIO" "$c: capabilities"
	an_expect_in "$L/check1.log" "+LimitMEMLOCK=infinity" "$c: LimitMEMLOCK"
	an_expect_in "$L/check1.log" "+SupplementaryGroups=dpdk" "$c: dpdk group"
	find "$R" -type f | sort | xargs md5sum | cmp -s - "$L/before.md5" ||
		it_fail "$c: --check changed files in the sandbox"

	# (2) apply into the sandbox
	play "$c" apply --tags dpdk_host
	grep -qxF "GRUB_CMDLINE_LINUX=\"console=tty0 console=ttyS0,115200n8 $cmdline\"" "$R/etc/default/grub" ||
		it_fail "$c: GRUB_CMDLINE_LINUX after the apply: $(grep CMDLINE_LINUX= "$R/etc/default/grub")"
	grep -qxF 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"' "$R/etc/default/grub" || it_fail "$c: other grub lines kept"
	[ -L "$R/etc/systemd/system/local-fs.target.wants/mnt-hugepages.mount" ] || it_fail "$c: mount unit not enabled"
	grep -qx 'vfio-pci' "$R/etc/modules-load.d/beacond-dpdk.conf" || it_fail "$c: vfio-pci not loaded at boot"
	grep -qxF 'SUBSYSTEM=="vfio", GROUP="dpdk", MODE="0660"' "$R/etc/udev/rules.d/90-beacond-vfio.rules" ||
		it_fail "$c: vfio udev rule"
	an_expect_in "$L/apply.log" "RUNNING HANDLER [dpdk_host : Reboot for the new kernel command line]" "$c: reboot handler (apply)"

	# (3) check mode again: nothing to change, no reboot
	play "$c" check2 --check --diff --tags dpdk_host
	[ "$(an_sum "$L/check2.log" changed)" = 0 ] || { an_recap "$L/check2.log" >&2; it_fail "$c: second check reports changes"; }
	an_expect_not_in "$L/check2.log" "RUNNING HANDLER" "$c: second check"
	an_expect_not_in "$L/check2.log" "+GRUB_CMDLINE_LINUX" "$c: second check"
	an_expect_in "$L/check2.log" "reboot pending: the running kernel lacks" "$c: pending reboot report"
	it_log "$c: $pages x $size pages, isolcpus=$iso, ports $ports: diff as expected; second check changed=0, no reboot"
}

mkdir -p "$W/intel" "$W/amd"
inventory intel '          dpdk_host_nics: ["0000:3b:00.0", "0000:3B:00.1"]' ''
run_case intel \
	"default_hugepagesz=1G hugepagesz=1G hugepages=4 isolcpus=2-7 nohz_full=2-7 rcu_nocbs=2-7 irqaffinity=0-1 intel_iommu=on iommu=pt" \
	1G 4 2-7 "0000:3b:00.0 0000:3b:00.1" "0 1 2 3 4 5 6 7"
[ "$(cat "$SB/intel/root/etc/driverctl.d/pci-0000:3b:00.0")" = vfio-pci ] || it_fail "intel: driverctl override 3b:00.0"
[ "$(cat "$SB/intel/root/etc/driverctl.d/pci-0000:3b:00.1")" = vfio-pci ] || it_fail "intel: driverctl override 3b:00.1"
[ ! -e "$SB/intel/root/etc/driverctl.d/pci-0000:18:00.0" ] || it_fail "intel: the management NIC was bound"

inventory amd '          dpdk_host_nics: ["0000:41:00.0"]' "    dpdk_host_nic_ids: ['8086:10fb']
    dpdk_host_housekeeping_cpus: '0-3'
    dpdk_host_isolated_cpus: '4-11'
    dpdk_host_bind_method: devbind"
run_case amd \
	"default_hugepagesz=2M hugepagesz=2M hugepages=2048 isolcpus=4-11 nohz_full=4-11 rcu_nocbs=4-11 irqaffinity=0-3 amd_iommu=on iommu=pt" \
	2M 2048 4-11 "0000:41:00.0 0000:62:00.0 0000:62:00.1" "0 1 2 3 4 5 6 7 8 9 10 11"
grep -qxF 'ExecStart=/usr/bin/dpdk-devbind.py --bind=vfio-pci 0000:62:00.0 0000:62:00.1' \
	"$SB/amd/root/etc/systemd/system/beacond-dpdk-bind.service" || it_fail "amd: dpdk-devbind.py unit (the mlx5 port must not be bound)"
[ ! -d "$SB/amd/root/etc/driverctl.d" ] || it_fail "amd: driverctl overrides written with bind method devbind"

# A host whose NIC is not in lspci: refused before anything is changed.
mkdir -p "$W/bad" "$SB/bad/root/etc/default"
cp "$FX/grub" "$SB/bad/root/etc/default/grub"
inventory bad '          dpdk_host_nics: ["0000:af:00.0"]' "    dpdk_host_cpuinfo_file: $FX/intel/cpuinfo
    dpdk_host_lspci_file: $FX/intel/lspci"
if (cd "$AN_DIR" && ansible-playbook -i "$W/bad/hosts.yml" site.yml --tags dpdk_host) > "$W/bad/apply.log" 2>&1; then
	it_fail "a NIC missing from lspci was accepted"
fi
an_expect_in "$W/bad/apply.log" "NICs not found as Ethernet controllers in lspci" "missing NIC"
cmp -s "$FX/grub" "$SB/bad/root/etc/default/grub" || it_fail "the refused host's grub file was changed"
it_log "a NIC missing from lspci is refused before any change"
it_log "all checks passed in $(( $(an_now) - t0 ))s"
