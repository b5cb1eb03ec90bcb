#!/usr/bin/env bash
# Check the nested-KVM harness end to end, in one VM boot:
#   1. kvm-smoke: a real-mode guest doing port writes; prints exits/s
#   2. kvm-probe: CPUID bits, capabilities, guest-debug features (informational)
#   3. Debian's kernel booted as a nested guest by QEMU with -accel kvm (skipped
#      when qemu-system-x86_64 is not installed)
#
# usage: selftest.sh [run-in-kvm-vm.sh options, e.g. --force-vm -v]
# Exit status: 0 when steps 1 and 3 passed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="${KVMSCOPE_CACHE:-${HOME:-/tmp}/.cache/kvmscope}/debian-kernel"
die() { echo "selftest: error: $*" >&2; exit 1; }

command -v cc >/dev/null || die "no C compiler (cc)"
"$here/../guests/fetch-debian-kernel.sh" --quiet "$cache"

work=$(mktemp -d "${TMPDIR:-/tmp}/kvm-vm-selftest.XXXXXX")
trap 'rm -rf "$work"' EXIT
cc -O2 -Wall -Wextra -Werror -o "$work/kvm-smoke" "$here/kvm-smoke.c"
cc -O2 -Wall -Wextra -Werror -o "$work/kvm-probe" "$here/kvm-probe.c"

# A minimal initramfs for the nested Linux guest: say hello, power off.
mkdir -p "$work/l2/bin" "$work/l2/proc"
cp "$cache/busybox" "$work/l2/bin/busybox"
cat >"$work/l2/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "nested linux: up after $(/bin/busybox cut -d' ' -f1 /proc/uptime) s with $(/bin/busybox grep -c ^processor /proc/cpuinfo) cpus"
/bin/busybox poweroff -f
EOF
chmod 755 "$work/l2/init"
(cd "$work/l2" && find . | "$cache/busybox" cpio -o -H newc -R 0:0 2>/dev/null) >"$work/l2.cpio"

cat >"$work/steps.sh" <<'EOF'
set -u
failed=0
echo "== kvm-smoke"
./kvm-smoke 100000 || failed=1
echo "== kvm-probe"
./kvm-probe || failed=1
echo "== nested linux"
if command -v qemu-system-x86_64 >/dev/null; then
    start=$(date +%s.%N)
    out=$(timeout 300 qemu-system-x86_64 -accel kvm -cpu host -smp 2 -m 512 -nodefaults -no-user-config \
        -display none -no-reboot -serial stdio -kernel "$1" -initrd l2.cpio \
        -append "console=ttyS0 panic=-1 quiet" </dev/null 2>&1)
    end=$(date +%s.%N)
    printf '%s\n' "$out" | grep -v 'Unhandled WRMSR' || true
    if printf '%s\n' "$out" | grep -q '^nested linux: up'; then
        echo "nested linux: ok, $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s wall"
    else
        echo "nested linux: FAIL"
        failed=1
    fi
else
    echo "nested linux: skipped (no qemu-system-x86_64)"
fi
exit $failed
EOF

rc=0
"$here/run-in-kvm-vm.sh" "$@" -C "$work" -- bash steps.sh "$(readlink -f "$cache/vmlinuz")" || rc=$?
if [[ $rc == 0 ]]; then echo "selftest: passed"; else echo "selftest: FAILED (exit status $rc)"; fi
exit "$rc"
