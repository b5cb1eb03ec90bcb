#!/usr/bin/env bash
# Build the root file system of kvmscope-bench-blk's guest: an ext4 image (made with `mke2fs -d`,
# no mount, no root needed) holding busybox, the blkbench binary and an /init that measures the
# second virtio disk. It is booted with the virtio-root initramfs of tests/guests/build-virtio-root.sh
# (which loads virtio_pci, virtio_blk and ext4 and switch_roots to /dev/vda's /init), so the module
# resolution lives there only.
#
# usage: build-blk-guest.sh BLKBENCH OUTPUT [CACHE_DIR]
#
# BLKBENCH is the static blkbench binary (bench/guest/blkbench.c, built by CMake); OUTPUT the image
# to write; CACHE_DIR defaults to ${KVMSCOPE_CACHE:-$HOME/.cache/kvmscope}/debian-kernel and must
# hold busybox (tests/guests/fetch-debian-kernel.sh).
#
# The disk's /init reads kvmscope.blk-mib=N (default 64) and kvmscope.blk-random=N (default 1000)
# from the kernel command line, prints "kvmscope-blk-guest: up, /dev/vdb SECTORS sectors", then runs
# on /dev/vdb, one after the other, `blkbench /dev/vdb seq-write N`, `seq-read N` and
# `rand-read COUNT` (each prints one "blkbench: ..." line), prints "kvmscope-blk-guest: done" and
# powers off. A step that fails prints "kvmscope-blk-guest: error: ..." and powers off.
set -euo pipefail

die() { echo "build-blk-guest: error: $*" >&2; exit 1; }

(($# == 2 || $# == 3)) || die "usage: build-blk-guest.sh BLKBENCH OUTPUT [CACHE_DIR]"
blkbench=$1
output=$2
cache=${3:-${KVMSCOPE_CACHE:-${HOME:-/tmp}/.cache/kvmscope}/debian-kernel}
busybox=$cache/busybox
[[ -x $blkbench ]] || die "$blkbench not found (it is built with kvmscope-bench-blk)"
[[ -x $busybox ]] || die "$busybox not found: run tests/guests/fetch-debian-kernel.sh first"
# e2fsprogs (scripts/common.sh installs it); mke2fs lives in /sbin, outside a user's PATH.
mke2fs=$(PATH=$PATH:/sbin:/usr/sbin command -v mke2fs) ||
    die "mke2fs not found: install e2fsprogs (./test.sh does)"

root=$(mktemp -d "${TMPDIR:-/tmp}/kvmscope-blk-guest.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys}
cp "$busybox" "$root/bin/busybox"
cp "$blkbench" "$root/bin/blkbench"
for applet in sh mount cat echo sync poweroff sleep; do
    ln -s busybox "$root/bin/$applet"
done
cat >"$root/init" <<'EOF'
#!/bin/sh
# kvmscope-bench-blk's guest (bench/guest/build-blk-guest.sh).
PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
[ -c /dev/console ] || mount -t devtmpfs devtmpfs /dev
fail() {
    echo "kvmscope-blk-guest: error: $*"
    poweroff -f
    while :; do sleep 1; done
}
mib=64
count=1000
for word in $(cat /proc/cmdline); do
    case $word in
        kvmscope.blk-mib=*) mib=${word#*=} ;;
        kvmscope.blk-random=*) count=${word#*=} ;;
    esac
done
[ -b /dev/vdb ] || fail "no /dev/vdb (the benchmark disk)"
echo "kvmscope-blk-guest: up, /dev/vdb $(cat /sys/block/vdb/size) sectors"
blkbench /dev/vdb seq-write "$mib" || fail "seq-write failed"
blkbench /dev/vdb seq-read "$mib" || fail "seq-read failed"
blkbench /dev/vdb rand-read "$count" || fail "rand-read failed"
echo "kvmscope-blk-guest: done"
mount -o remount,ro /
poweroff -f
EOF
chmod 755 "$root/init"

tmp=$(mktemp "$output.XXXXXX")
rm -f "$tmp"
"$mke2fs" -q -F -t ext4 -L kvmscope-blk -d "$root" "$tmp" 16M >/dev/null ||
    { rm -f "$tmp"; die "mke2fs failed"; }
mv "$tmp" "$output"
