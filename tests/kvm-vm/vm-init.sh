#!/bin/busybox sh
# shellcheck shell=dash
# /init of the initramfs that run-in-kvm-vm.sh builds: load kvm-amd and the virtio/9p
# modules, mount the host's root read-only and the writable shares, run the command
# chrooted into the host root, leave its exit status in the ctl share, power off.
# Runs under busybox sh inside the VM; messages go to the serial console.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# shellcheck disable=SC1091 # written by run-in-kvm-vm.sh
. /config

say() { echo "kvm-vm: $*"; }
ctl_ok=0
fail() {
    say "FAIL: $*"
    dmesg | grep -iE 'kvm|svm|9p|virtio|error|fail' | tail -n 20
    if [ "$ctl_ok" = 1 ]; then
        echo "$*" >/ctl/harness-error
        dmesg >/ctl/dmesg.txt
        sync
    fi
    poweroff -f
    sleep 10
}
uptime_s() { cut -d' ' -f1 /proc/uptime; }

p9opts=trans=virtio,version=9p2000.L,msize=262144
have_9p=""
have_9p_virtio=""

while read -r ko; do
    name=${ko%.ko}
    params=""
    [ "$name" = kvm-amd ] && params=$KVM_AMD_PARAMS
    # shellcheck disable=SC2086 # params is a list of words
    insmod "/modules/$ko" $params || fail "insmod $ko${params:+ $params} failed"
    case $name in 9p) have_9p=1 ;; 9pnet_virtio) have_9p_virtio=1 ;; esac
    # Mount the ctl share as soon as 9p works, so later failures can be reported through it.
    if [ "$ctl_ok" = 0 ] && [ -n "$have_9p" ] && [ -n "$have_9p_virtio" ]; then
        mkdir -p /ctl
        mount -t 9p -o "$p9opts,cache=none" ctl /ctl || fail "cannot mount the ctl share"
        ctl_ok=1
    fi
done </modules/order
[ "$ctl_ok" = 1 ] || fail "the ctl share was never mounted"
[ "$VERBOSE" = 1 ] && say "modules loaded at $(uptime_s) s"

# /dev/kvm is created when kvm-amd registers; give devtmpfs a moment.
n=0
while [ ! -c /dev/kvm ] && [ $n -lt 20 ]; do sleep 0.1; n=$((n + 1)); done
[ -c /dev/kvm ] || fail "kvm-amd loaded but /dev/kvm did not appear"
[ "$VERBOSE" = 1 ] && say "/dev/kvm ready; kvm_amd npt=$(cat /sys/module/kvm_amd/parameters/npt) nested=$(cat /sys/module/kvm_amd/parameters/nested)"

R=/newroot
mount -t 9p -o "$p9opts,ro,cache=loose" hostroot $R || fail "cannot mount the host root (9p)"
mount -t proc proc $R/proc || fail "cannot mount /proc"
mount -t sysfs sysfs $R/sys || fail "cannot mount /sys"
mount -t devtmpfs devtmpfs $R/dev || fail "cannot mount /dev"
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts $R/dev/pts || fail "cannot mount /dev/pts"
mount -t tmpfs tmpfs $R/dev/shm || fail "cannot mount /dev/shm"
mount -t tmpfs -o mode=1777 tmpfs $R/tmp || fail "cannot mount /tmp"
mount -t tmpfs -o mode=755 tmpfs $R/run || fail "cannot mount /run"
mkdir -p $R/run/kvm-vm
mount -o bind /ctl $R/run/kvm-vm || fail "cannot bind the ctl share"
while read -r tag path; do
    mkdir -p "$R$path" 2>/dev/null
    mount -t 9p -o "$p9opts,cache=mmap" "$tag" "$R$path" || fail "cannot mount share $path"
done </shares
ip link set lo up 2>/dev/null

for t in /dev/hvc0 /dev/hvc1; do
    [ -c $t ] || fail "$t is missing (virtio console)"
    stty -F $t raw -echo
done

uptime_s >/ctl/started
[ "$VERBOSE" = 1 ] && say "running the command at $(uptime_s) s"
chroot $R /bin/bash /run/kvm-vm/command.sh </dev/null >/dev/hvc0 2>/dev/hvc1
rc=$?
echo "$rc" >/ctl/status
[ "$VERBOSE" = 1 ] && say "command exited with $rc at $(uptime_s) s"
sync
poweroff -f
sleep 10
