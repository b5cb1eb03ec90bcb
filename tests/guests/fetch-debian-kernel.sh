#!/usr/bin/env bash
# Fetch Debian's own amd64 kernel and busybox-static into a cache directory.
#
# usage: fetch-debian-kernel.sh [--refresh] [--quiet] [CACHE_DIR]
#
# CACHE_DIR defaults to ${KVMSCOPE_CACHE:-$HOME/.cache/kvmscope}/debian-kernel.
# Packages are fetched with `apt-get download` and unpacked with `dpkg-deb -x`;
# nothing is installed on the host. When the cache is already complete the
# script does no network access and only prints the kernel release.
#
# Layout of CACHE_DIR afterwards:
#   vmlinuz            the kernel (bzImage), symlink into pkg/
#   config             the kernel's .config
#   System.map
#   kernel-release     one line: the release, e.g. 6.1.0-26-amd64
#   modules/<release>/ the module tree (modules.dep, kernel/...)
#   busybox            static busybox binary
#   debs/              the downloaded .deb files
#   pkg/               the unpacked packages
#
# --refresh  re-resolve the current kernel package and re-fetch if it changed.
# --quiet    print nothing on success.
set -euo pipefail

die() { echo "fetch-debian-kernel: error: $*" >&2; exit 1; }
note() { [[ $quiet == 1 ]] || echo "fetch-debian-kernel: $*" >&2; }

refresh=0
quiet=0
cache=""
while (($#)); do
    case $1 in
        --refresh) refresh=1 ;;
        --quiet|-q) quiet=1 ;;
        -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option: $1" ;;
        *) [[ -z $cache ]] || die "only one CACHE_DIR may be given"; cache=$1 ;;
    esac
    shift
done
cache=${cache:-${KVMSCOPE_CACHE:-${HOME:-/tmp}/.cache/kvmscope}/debian-kernel}

complete() {
    [[ -f $cache/kernel-release && -e $cache/vmlinuz && -x $cache/busybox ]] || return 1
    local rel
    rel=$(<"$cache/kernel-release")
    [[ -f $cache/modules/$rel/modules.dep ]]
}

if [[ $refresh == 0 ]] && complete; then
    [[ $quiet == 1 ]] || echo "$cache: $(<"$cache/kernel-release") (cached)"
    exit 0
fi

for tool in apt-get apt-cache dpkg-deb; do
    command -v "$tool" >/dev/null || die "'$tool' not found: this script needs a Debian-based host"
done

# The kernel package the metapackage currently points at, e.g. linux-image-6.1.0-26-amd64.
resolve_kernel_pkg() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ { print $2; exit }'
}
kpkg=$(resolve_kernel_pkg || true)
if [[ -z $kpkg ]]; then
    if [[ $(id -u) == 0 ]]; then
        note "linux-image-amd64 is unknown to apt; running apt-get update"
        apt-get update -qq >/dev/null || die "apt-get update failed"
        kpkg=$(resolve_kernel_pkg || true)
    fi
    [[ -n $kpkg ]] || die "cannot resolve linux-image-amd64 to a kernel package (is Debian's archive in apt's sources? try 'apt-get update')"
fi
rel=${kpkg#linux-image-}

if [[ $refresh == 1 ]] && complete && [[ $(<"$cache/kernel-release") == "$rel" ]]; then
    [[ $quiet == 1 ]] || echo "$cache: $rel (cached, current)"
    exit 0
fi

mkdir -p "$cache/debs"
note "fetching $kpkg and busybox-static into $cache"

# apt-get download writes into the current directory. As root it tries to drop to
# the _apt user, which cannot write to a root-owned cache; that only costs a warning.
fetch_deb() { # package
    local pkg=$1 f
    f=$(find "$cache/debs" -maxdepth 1 -name "${pkg}_*_amd64.deb" -print -quit)
    if [[ -z $f ]]; then
        (cd "$cache/debs" && apt-get download -q "$pkg" 2>&1 | grep -v -e 'unsandboxed as root' >&2) || true
        f=$(find "$cache/debs" -maxdepth 1 -name "${pkg}_*_amd64.deb" -print -quit)
        [[ -n $f ]] || die "apt-get download $pkg failed"
    fi
    dpkg-deb --info "$f" >/dev/null 2>&1 || { rm -f "$f"; die "$f is not a valid .deb (removed; run again)"; }
    printf '%s\n' "$f"
}
kdeb=$(fetch_deb "$kpkg")
bdeb=$(fetch_deb busybox-static)

# Unpack into a fresh directory, then swap it in, so an interrupted run leaves no half tree.
tmp=$(mktemp -d "$cache/.unpack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$kdeb" "$tmp/$kpkg"
dpkg-deb -x "$bdeb" "$tmp/busybox-static"
[[ -f $tmp/$kpkg/boot/vmlinuz-$rel ]] || die "$kdeb has no boot/vmlinuz-$rel"
[[ -d $tmp/$kpkg/lib/modules/$rel ]] || die "$kdeb has no lib/modules/$rel"
[[ -x $tmp/busybox-static/bin/busybox ]] || die "$bdeb has no bin/busybox"

# The package ships no modules.dep (its postinst runs depmod): index the modules here,
# with the host's depmod if it has one, else with busybox's.
if [[ ! -f $tmp/$kpkg/lib/modules/$rel/modules.dep ]]; then
    depmod=$(PATH=$PATH:/sbin:/usr/sbin command -v depmod || true)
    if [[ -n $depmod ]]; then
        "$depmod" -b "$tmp/$kpkg" "$rel" || die "depmod failed on the unpacked modules"
    else
        "$tmp/busybox-static/bin/busybox" depmod -b "$tmp/$kpkg" "$rel" ||
            die "busybox depmod failed on the unpacked modules"
    fi
    [[ -f $tmp/$kpkg/lib/modules/$rel/modules.dep ]] || die "depmod wrote no modules.dep"
fi

rm -rf "$cache/pkg"
mkdir -p "$cache/pkg"
mv "$tmp/$kpkg" "$tmp/busybox-static" "$cache/pkg/"
ln -sfn "pkg/$kpkg/boot/vmlinuz-$rel" "$cache/vmlinuz"
ln -sfn "pkg/$kpkg/boot/config-$rel" "$cache/config"
ln -sfn "pkg/$kpkg/boot/System.map-$rel" "$cache/System.map"
ln -sfn "pkg/$kpkg/lib/modules" "$cache/modules"
ln -sfn "pkg/busybox-static/bin/busybox" "$cache/busybox"
# Old .debs of other kernel versions are no longer needed.
find "$cache/debs" -maxdepth 1 -name 'linux-image-*.deb' ! -name "${kpkg}_*" -delete
printf '%s\n' "$rel" >"$cache/kernel-release"

[[ $quiet == 1 ]] || echo "$cache: $rel"
