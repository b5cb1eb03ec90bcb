#!/usr/bin/env bash
# Build the test initramfs for Debian's kernel from the busybox that fetch-debian-kernel.sh
# unpacked. Nothing is installed on the host; the archive is written with busybox's own cpio.
#
# usage: build-initramfs.sh [--quiet] [CACHE_DIR]
#
# CACHE_DIR defaults to ${KVMSCOPE_CACHE:-$HOME/.cache/kvmscope}/debian-kernel and must already
# hold `busybox` (run fetch-debian-kernel.sh first). Writes CACHE_DIR/initramfs.cpio.gz, rebuilt
# only when this script or busybox is newer than it.
#
# The initramfs's /init (written below) speaks to the test through the kernel command line:
#   kvmscope.run=CMD    run CMD with sh -c (spaces as %20), print its exit status, power off
#   kvmscope.shell=1    start an interactive shell on the console, power off when it exits
#   (neither)           print the marker and power off
# It always prints "kvmscope-initramfs: up" first, so a test knows user space was reached.
set -euo pipefail

die() { echo "build-initramfs: error: $*" >&2; exit 1; }

quiet=0
cache=""
while (($#)); do
    case $1 in
        --quiet|-q) quiet=1 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option: $1" ;;
        *) [[ -z $cache ]] || die "only one CACHE_DIR may be given"; cache=$1 ;;
    esac
    shift
done
cache=${cache:-${KVMSCOPE_CACHE:-${HOME:-/tmp}/.cache/kvmscope}/debian-kernel}
busybox=$cache/busybox
output=$cache/initramfs.cpio.gz
[[ -x $busybox ]] || die "$busybox not found: run tests/guests/fetch-debian-kernel.sh first"

if [[ -f $output && $output -nt $busybox && $output -nt ${BASH_SOURCE[0]} ]]; then
    [[ $quiet == 1 ]] || echo "$output (cached)"
    exit 0
fi

root=$(mktemp -d "$cache/.initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc}
cp "$busybox" "$root/bin/busybox"
# The kernel opens /dev/console for init's standard streams before anything is mounted
# (init/main.c, console_on_rootfs): the node must be in the archive itself.
mknod -m 600 "$root/dev/console" c 5 1 || die "mknod /dev/console failed (this script needs root)"
for applet in sh mount poweroff cat echo sleep uname ls; do
    ln -s busybox "$root/bin/$applet"
done

cat > "$root/init" <<'EOF'
#!/bin/sh
# kvmscope's test init (tests/guests/build-initramfs.sh says what the options mean).
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null && exec </dev/console >/dev/console 2>&1
echo "kvmscope-initramfs: up"
command=""
shell=0
for word in $(/bin/busybox cat /proc/cmdline); do
    case $word in
        kvmscope.run=*) command=$(echo "${word#kvmscope.run=}" | /bin/busybox sed 's/%20/ /g') ;;
        kvmscope.shell=1) shell=1 ;;
    esac
done
if [ -n "$command" ]; then
    /bin/sh -c "$command"
    echo "kvmscope-initramfs: exit status $?"
elif [ "$shell" = 1 ]; then
    /bin/sh
fi
echo "kvmscope-initramfs: powering off"
/bin/busybox poweroff -f
EOF
chmod 755 "$root/init"

# newc is the format the kernel unpacks (Documentation/driver-api/early-userspace/buffer-format.rst).
tmp_output=$(mktemp "$cache/.initramfs.cpio.gz.XXXXXX")
(cd "$root" && find . | "$busybox" cpio -o -H newc 2>/dev/null) | gzip -9 > "$tmp_output" ||
    { rm -f "$tmp_output"; die "cpio/gzip failed"; }
chmod 644 "$tmp_output"
mv "$tmp_output" "$output"
[[ $quiet == 1 ]] || echo "$output"
