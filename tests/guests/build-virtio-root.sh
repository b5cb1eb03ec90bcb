#!/usr/bin/env bash
# Build the virtio-root test guest for Debian's kernel: an initramfs that loads the modules a root
# file system on virtio-blk needs and switches to it, and an ext4 image (made with `mke2fs -d`, no
# mount) holding that root file system. Nothing is installed on the host.
#
# usage: build-virtio-root.sh [--quiet] [CACHE_DIR]
#
# CACHE_DIR defaults to ${KVMSCOPE_CACHE:-$HOME/.cache/kvmscope}/debian-kernel and must already
# hold busybox, kernel-release and modules/<release>/ (run fetch-debian-kernel.sh first). Writes
# CACHE_DIR/virtio-root/initramfs.cpio.gz and CACHE_DIR/virtio-root/root.ext4, rebuilt only when
# this script, busybox or the module tree's modules.dep is newer than one of them. root.ext4 is a
# template: a test boots a copy of it.
#
# The initramfs's /init loads virtio_pci, virtio_blk and ext4 with their dependencies (resolved
# here from modules.dep, and from the soft dependencies the modules name through modules.alias),
# and ata_piix and sd_mod too when the root device is an IDE disk, /dev/sd*; it waits up to 30 s
# for the root device (root=DEV on the kernel command line, default /dev/vda),
# mounts it as ext4 and switch_roots to its /init. It prints "kvmscope-virtio-root: initramfs up"
# first and "kvmscope-virtio-root: error: ..." before powering off when a step fails.
#
# The disk's /init prints "kvmscope-disk-init: up", writes /written-by-guest (one line:
# "written by kvmscope's virtio-root guest on Linux $(uname -r)") and /random.bin (1 MiB from
# /dev/urandom, its md5sum printed as "kvmscope-disk-init: random.bin md5 HASH"), writes and deletes
# 4 MiB more and runs fstrim on / ("kvmscope-disk-init: fstrim done", or "... fstrim failed"
# where the disk has no discard, as on IDE), prints each PCI
# function between "kvmscope-disk-init: lspci begin" and "... lspci end" as `lspci -n` does
# ("00:04.0 0180: 1af4:1042", from sysfs: Debian's busybox has no lspci) and the lines of
# /proc/interrupts that name virtio between "... virtio interrupts begin" and "... end",
# remounts the root read-only (which checkpoints the journal, so the image needs no recovery),
# prints "kvmscope-disk-init: powering off" and powers off.
set -euo pipefail

die() { echo "build-virtio-root: error: $*" >&2; exit 1; }

quiet=0
cache=""
while (($#)); do
    case $1 in
        --quiet|-q) quiet=1 ;;
        -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option: $1" ;;
        *) [[ -z $cache ]] || die "only one CACHE_DIR may be given"; cache=$1 ;;
    esac
    shift
done
cache=${cache:-${KVMSCOPE_CACHE:-${HOME:-/tmp}/.cache/kvmscope}/debian-kernel}
busybox=$cache/busybox
[[ -x $busybox ]] || die "$busybox not found: run tests/guests/fetch-debian-kernel.sh first"
[[ -f $cache/kernel-release ]] || die "$cache/kernel-release not found: run tests/guests/fetch-debian-kernel.sh first"
release=$(<"$cache/kernel-release")
modules=$cache/modules/$release
[[ -f $modules/modules.dep ]] || die "$modules/modules.dep not found: run tests/guests/fetch-debian-kernel.sh first"
# e2fsprogs (scripts/common.sh installs it); mke2fs lives in /sbin, outside a user's PATH.
mke2fs=$(PATH=$PATH:/sbin:/usr/sbin command -v mke2fs) ||
    die "mke2fs not found: install e2fsprogs (./test.sh does)"

output=$cache/virtio-root
initramfs=$output/initramfs.cpio.gz
image=$output/root.ext4
fresh() { [[ -f $1 && $1 -nt $busybox && $1 -nt $modules/modules.dep && $1 -nt ${BASH_SOURCE[0]} ]]; }
if fresh "$initramfs" && fresh "$image"; then
    [[ $quiet == 1 ]] || echo "$output (cached)"
    exit 0
fi
mkdir -p "$output"

# --- the modules, in an order insmod accepts (dependencies first)
# modules.dep: "kernel/path/name.ko[.xz|.zst]: dependency paths...". A module's name is its file
# name without the suffix, with '-' read as '_' (as the kernel and modprobe do).
declare -A path_of=() deps_of=() loaded=()
while IFS= read -r line; do
    file=${line%%:*}
    name=${file##*/}
    name=${name%%.ko*}
    name=${name//-/_}
    path_of[$name]=$file
    deps_of[$name]=${line#*:}
done <"$modules/modules.dep"
name_of() { local name=${1##*/}; name=${name%%.ko*}; echo "${name//-/_}"; }

# The soft dependencies a module declares ("softdep=pre: crypto-crc32c" in its .modinfo, which
# modprobe honours and insmod does not), each resolved through modules.alias to every module that
# provides it: ext4 and jbd2 need a crc32c for metadata checksums, and the kernel's own request for
# it would call a modprobe the initramfs does not have. These are loaded as optional (one of
# several providers may not fit the CPU).
module_file() {
    local file=$modules/${path_of[$1]}
    case $file in
        *.ko) cat "$file" ;;
        *.ko.xz) xz -dc "$file" ;;
        *.ko.zst) zstd -dcq "$file" ;;
        *.ko.gz) gzip -dc "$file" ;;
        *) die "module $1: unknown file type: $file" ;;
    esac
}
soft_pre() {
    local word alias_name provider
    for word in $(module_file "$1" | strings -a | sed -n 's/^softdep=.*pre:\([^:]*\).*/\1/p'); do
        [[ $word != post ]] || break
        while read -r _ alias_name provider; do
            [[ $alias_name == "$word" ]] && echo "${provider//-/_}"
        done < <(grep -E "^alias $word " "$modules/modules.alias" || true)
    done
}

# Two lists: the modules every boot loads, and those loaded only for a root on IDE (root=/dev/sd*:
# ata_piix for the PIIX3 IDE function and sd_mod for its disks), whose probe of the IDE channels
# the virtio boot need not wait for. Lines are "required NAME" or "optional NAME".
order_base=()
order_ide=()
group=base
add_module() {
    local name=$1 kind=$2 dep
    [[ -z ${loaded[$name]:-} ]] || return 0
    [[ -n ${path_of[$name]:-} ]] || die "module $name is not in $modules/modules.dep"
    loaded[$name]=1
    for dep in $(soft_pre "$name"); do add_module "$dep" optional; done
    # modules.dep lists every module this one needs, directly or not; each of them is added with
    # its own dependencies first, so the order does not rest on the listing's.
    for dep in ${deps_of[$name]}; do add_module "$(name_of "$dep")" "$kind"; done
    local -n list=order_$group
    list+=("$kind $name")
}
for name in virtio_pci virtio_blk ext4; do add_module "$name" required; done
group=ide
for name in ata_piix sd_mod; do add_module "$name" required; done

# --- the initramfs
root=$(mktemp -d "$cache/.virtio-root.XXXXXX")
trap 'rm -rf "$root"' EXIT
initdir=$root/initramfs
mkdir -p "$initdir"/{bin,dev,proc,sys,newroot,lib/modules}
cp "$busybox" "$initdir/bin/busybox"
# The kernel opens /dev/console for init's standard streams before anything is mounted.
mknod -m 600 "$initdir/dev/console" c 5 1 || die "mknod /dev/console failed (this script needs root)"
for applet in sh mount umount insmod switch_root poweroff cat echo sleep; do
    ln -s busybox "$initdir/bin/$applet"
done
for group in base ide; do
    declare -n list=order_$group
    for entry in "${list[@]}"; do
        name=${entry#* }
        module_file "$name" >"$initdir/lib/modules/$name.ko" || die "cannot read module $name"
        echo "$entry" >>"$initdir/lib/modules/load-order.$group"
    done
    unset -n list
done

cat >"$initdir/init" <<'EOF'
#!/bin/sh
# kvmscope's virtio-root initramfs (tests/guests/build-virtio-root.sh).
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null && exec </dev/console >/dev/console 2>&1
echo "kvmscope-virtio-root: initramfs up"
fail() {
    echo "kvmscope-virtio-root: error: $*"
    /bin/busybox poweroff -f
    while :; do /bin/busybox sleep 1; done
}
load() {
    while read -r kind name; do
        if ! out=$(/bin/busybox insmod "/lib/modules/$name.ko" 2>&1); then
            [ "$kind" = optional ] || fail "insmod $name: $out"
            echo "kvmscope-virtio-root: note: optional module $name not loaded: $out"
        fi
    done <"/lib/modules/load-order.$1"
}
device=/dev/vda
for word in $(/bin/busybox cat /proc/cmdline); do
    case $word in root=/dev/*) device=${word#root=} ;; esac
done
load base
case $device in /dev/sd*) load ide ;; esac
echo "kvmscope-virtio-root: modules loaded"
tries=0
while [ ! -b "$device" ]; do
    tries=$((tries + 1))
    [ "$tries" -le 300 ] || fail "$device did not appear within 30 s"
    /bin/busybox sleep 0.1
done
/bin/busybox mount -t ext4 "$device" /newroot || fail "cannot mount $device as ext4"
[ -x /newroot/init ] || fail "$device has no executable /init"
echo "kvmscope-virtio-root: $device mounted, switching to its /init"
/bin/busybox umount /proc /sys
/bin/busybox mount --move /dev /newroot/dev || fail "cannot move /dev to the new root"
exec /bin/busybox switch_root /newroot /init
EOF
chmod 755 "$initdir/init"

tmp_initramfs=$(mktemp "$output/.initramfs.cpio.gz.XXXXXX")
(cd "$initdir" && find . | "$busybox" cpio -o -H newc 2>/dev/null) | gzip -9 >"$tmp_initramfs" ||
    { rm -f "$tmp_initramfs"; die "cpio/gzip failed"; }

# --- the root file system
diskdir=$root/disk
mkdir -p "$diskdir"/{bin,dev,proc,sys,tmp}
cp "$busybox" "$diskdir/bin/busybox"
for applet in sh mount cat echo grep uname sync dd md5sum rm fstrim poweroff sleep; do
    ln -s busybox "$diskdir/bin/$applet"
done
cat >"$diskdir/init" <<'EOF'
#!/bin/sh
# kvmscope's virtio-root disk init (tests/guests/build-virtio-root.sh).
PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
[ -c /dev/console ] || mount -t devtmpfs devtmpfs /dev
echo "kvmscope-disk-init: up"
echo "written by kvmscope's virtio-root guest on Linux $(uname -r)" >/written-by-guest
dd if=/dev/urandom of=/random.bin bs=64k count=16 2>/dev/null
sync
echo "kvmscope-disk-init: wrote /written-by-guest"
dd if=/dev/urandom of=/discarded.bin bs=64k count=64 2>/dev/null
sync
rm /discarded.bin
sync
fstrim -v / && echo "kvmscope-disk-init: fstrim done" || echo "kvmscope-disk-init: fstrim failed"
set -- $(md5sum /random.bin)
echo "kvmscope-disk-init: random.bin md5 $1"
echo "kvmscope-disk-init: lspci begin"
for function in /sys/bus/pci/devices/*; do
    class=$(cat "$function/class") # 0xCCSSPP: class, subclass, programming interface
    class=${class#0x}
    vendor=$(cat "$function/vendor")
    device=$(cat "$function/device")
    slot=${function##*/}
    echo "${slot#0000:} ${class%??}: ${vendor#0x}:${device#0x}"
done
echo "kvmscope-disk-init: lspci end"
echo "kvmscope-disk-init: virtio interrupts begin"
grep virtio /proc/interrupts
echo "kvmscope-disk-init: virtio interrupts end"
mount -o remount,ro / || echo "kvmscope-disk-init: error: remounting / read-only failed"
sync
echo "kvmscope-disk-init: powering off"
poweroff -f
EOF
chmod 755 "$diskdir/init"

tmp_image=$(mktemp "$output/.root.ext4.XXXXXX")
rm -f "$tmp_image"
"$mke2fs" -q -F -t ext4 -L kvmscope-root -d "$diskdir" "$tmp_image" 32M >/dev/null ||
    { rm -f "$tmp_image" "$tmp_initramfs"; die "mke2fs failed"; }
chmod 644 "$tmp_initramfs" "$tmp_image"
mv "$tmp_initramfs" "$initramfs"
mv "$tmp_image" "$image"
[[ $quiet == 1 ]] || echo "$output: modules ${order_base[*]#* }; for IDE ${order_ide[*]#* }"
