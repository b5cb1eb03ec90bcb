#!/usr/bin/env bash
# Run a command where /dev/kvm works: directly if this host has /dev/kvm, else inside a
# QEMU TCG virtual machine whose emulated AMD CPU has SVM, running Debian's own kernel
# with kvm-amd loaded (nested virtualization in software).
#
# usage: run-in-kvm-vm.sh [options] -- COMMAND [ARGS...]
#
# In the VM, the host's root filesystem is mounted read-only (virtio-9p) and COMMAND runs
# chrooted into it, so host-built binaries and their shared libraries work unchanged.
# The working directory and each --share directory are mounted writable at the same path.
# /tmp, /run and /dev/shm are empty tmpfs in the VM. COMMAND runs as root, with the
# caller's environment (see --clean-env), stdin from /dev/null; its stdout and stderr
# are streamed to this script's stdout and stderr, and its exit status is returned.
#
# options:
#   -C, --workdir DIR      run COMMAND in DIR (default: current directory); shared writable
#   -s, --share DIR        also share DIR writable at the same path (repeatable)
#   -e, --env NAME=VALUE   set a variable for COMMAND (repeatable)
#       --clean-env        pass only PATH, HOME, LANG, TERM and the -e variables
#   -t, --timeout SECONDS  time limit for the whole run, boot included (default 1200)
#   -m, --memory MIB       VM memory (default 3072)
#   -c, --cpus N           VM vcpus (default 2)
#       --kvm-amd-params P module parameters for kvm-amd, e.g. "npt=0" (default none)
#       --qemu-cpu MODEL   QEMU -cpu value (default max; it must include svm and npt)
#       --qemu-accel ACCEL QEMU -accel value (default tcg,thread=multi,tb-size=256)
#       --force-vm         use the VM even when this host has a usable /dev/kvm
#       --cache DIR        kernel cache (default ${KVMSCOPE_CACHE:-~/.cache/kvmscope}/debian-kernel)
#       --console-log FILE keep the VM's serial console log (kernel + harness messages)
#   -v, --verbose          stream the VM's console log to stderr and print timings
#   -h, --help
#
# exit status: COMMAND's, or 124 when the time limit was hit, or 125 when the harness
# itself failed (no QEMU, kernel did not boot, /dev/kvm did not appear, ...).
set -euo pipefail

readonly HARNESS_FAIL=125 TIMED_OUT=124
me=run-in-kvm-vm
die() { echo "$me: error: $*" >&2; exit $HARNESS_FAIL; }
info() { [[ $verbose == 0 ]] || echo "$me: $*" >&2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fetch="$here/../guests/fetch-debian-kernel.sh"

workdir=$PWD
shares=()
envs=()
clean_env=0
timeout_s=1200
memory=3072
cpus=2
kvm_amd_params=""
qemu_cpu=max
qemu_accel=${KVMSCOPE_QEMU_ACCEL:-tcg,thread=multi,tb-size=256}
force_vm=0
cache="${KVMSCOPE_CACHE:-${HOME:-/tmp}/.cache/kvmscope}/debian-kernel"
console_keep=""
verbose=0

need_arg() { [[ $# -ge 2 ]] || die "option $1 needs an argument"; }
while (($#)); do
    case $1 in
        -C|--workdir) need_arg "$@"; workdir=$2; shift ;;
        -s|--share) need_arg "$@"; shares+=("$2"); shift ;;
        -e|--env) need_arg "$@"; [[ $2 == [A-Za-z_]*=* ]] || die "--env wants NAME=VALUE, got '$2'"; envs+=("$2"); shift ;;
        --clean-env) clean_env=1 ;;
        -t|--timeout) need_arg "$@"; timeout_s=$2; shift ;;
        -m|--memory) need_arg "$@"; memory=$2; shift ;;
        -c|--cpus) need_arg "$@"; cpus=$2; shift ;;
        --kvm-amd-params) need_arg "$@"; kvm_amd_params=$2; shift ;;
        --qemu-cpu) need_arg "$@"; qemu_cpu=$2; shift ;;
        --qemu-accel) need_arg "$@"; qemu_accel=$2; shift ;;
        --force-vm) force_vm=1 ;;
        --cache) need_arg "$@"; cache=$2; shift ;;
        --console-log) need_arg "$@"; console_keep=$2; shift ;;
        -v|--verbose) verbose=1 ;;
        -h|--help) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --) shift; break ;;
        *) die "unknown option '$1' (the command goes after --)" ;;
    esac
    shift
done
(($# > 0)) || die "no command given (usage: run-in-kvm-vm.sh [options] -- COMMAND [ARGS...])"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout wants a whole number of seconds, got '$timeout_s'"
[[ $memory =~ ^[1-9][0-9]*$ ]] || die "--memory wants MiB, got '$memory'"
[[ $cpus =~ ^[1-9][0-9]*$ ]] || die "--cpus wants a number, got '$cpus'"
[[ -d $workdir ]] || die "working directory '$workdir' does not exist"
workdir=$(cd "$workdir" && pwd -P)

# ---------------------------------------------------------------- host has /dev/kvm
if [[ $force_vm == 0 && -c /dev/kvm && -r /dev/kvm && -w /dev/kvm ]]; then
    info "host has /dev/kvm: running the command directly"
    cd "$workdir"
    envcmd=(env)
    [[ $clean_env == 0 ]] || envcmd+=(-i PATH="$PATH" HOME="${HOME:-/root}" LANG="${LANG:-C.UTF-8}" TERM="${TERM:-dumb}")
    envcmd+=("${envs[@]}")
    rc=0
    timeout --kill-after=10 "$timeout_s" "${envcmd[@]}" "$@" </dev/null || rc=$?
    [[ $rc != "$TIMED_OUT" ]] || echo "$me: error: time limit of ${timeout_s}s reached" >&2
    exit "$rc"
fi

# ---------------------------------------------------------------- VM path
t_start=$(date +%s.%N)
qemu=${QEMU:-qemu-system-x86_64}
command -v "$qemu" >/dev/null || die "'$qemu' not found (install Debian's qemu-system-x86)"
[[ -x $fetch ]] || die "missing $fetch"
"$fetch" --quiet "$cache" || die "could not fetch Debian's kernel into $cache"
rel=$(<"$cache/kernel-release")
moddir="$cache/modules/$rel"
busybox="$cache/busybox"

for d in "${shares[@]}"; do [[ -d $d ]] || die "share '$d' is not a directory"; done
share_paths=("$workdir")
for d in "${shares[@]}"; do share_paths+=("$(cd "$d" && pwd -P)"); done
for d in "${share_paths[@]}"; do [[ $d != / ]] || die "cannot share / writable"; done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvm-vm.XXXXXX") || die "cannot create a temporary directory in ${TMPDIR:-/tmp}"
qemu_pid=""
reader_pids=()
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
    local p
    [[ -z $qemu_pid ]] || kill "$qemu_pid" 2>/dev/null || true
    for p in "${reader_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    # Keep the console also when the run was ended from outside: it says why a VM stopped.
    [[ -z $console_keep || ! -f $tmp/console.log ]] || cp "$tmp/console.log" "$console_keep" || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "$me: interrupted" >&2; exit 130' INT TERM

# --- the command, as a bash script run inside the chroot
mkdir -p "$tmp/ctl" "$tmp/initramfs"
{
    echo '# generated by run-in-kvm-vm.sh'
    if [[ $clean_env == 1 ]]; then
        for n in PATH HOME LANG TERM; do [[ -z ${!n+x} ]] || printf 'export %s=%q\n' "$n" "${!n}"; done
    else
        while IFS= read -r n; do
            case $n in PWD|OLDPWD|SHLVL|_|BASH_*|PPID|UID|EUID) continue ;; esac
            printf 'export %s=%q\n' "$n" "${!n}"
        done < <(compgen -e)
    fi
    for kv in "${envs[@]}"; do printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"; done
    # /tmp is empty in the VM: make an inherited TMPDIR exist there, or drop it.
    # shellcheck disable=SC2016 # expanded in the VM
    echo '[[ -z ${TMPDIR:-} || -d $TMPDIR ]] || mkdir -p "$TMPDIR" 2>/dev/null || unset TMPDIR'
    printf 'cd %q || exit 125\n' "$workdir"
    printf 'exec'; printf ' %q' "$@"; printf '\n'
} >"$tmp/ctl/command.sh"

# --- kernel modules: what kvm-amd, virtio-pci, virtio-console and 9p need, in load order
[[ -f $moddir/modules.dep ]] || die "no $moddir/modules.dep"
declare -A mod_path=() mod_done=()
while IFS= read -r line; do
    p=${line%%:*}
    n=${p##*/}; n=${n%.ko*}; n=${n//-/_}
    mod_path[$n]=$p
done <"$moddir/modules.dep"
mod_order=()
add_module() { # name: depth-first, dependencies first
    local n=${1//-/_} p line d
    [[ -z ${mod_done[$n]+x} ]] || return 0
    mod_done[$n]=1
    p=${mod_path[$n]:-}
    [[ -n $p ]] || die "module $n not found in $moddir"
    line=$(grep -m1 "^$p:" "$moddir/modules.dep")
    for d in ${line#*:}; do d=${d##*/}; d=${d%.ko*}; add_module "$d"; done
    mod_order+=("$p")
}
for m in virtio_pci virtio_console 9pnet_virtio 9p kvm_amd; do add_module "$m"; done
mkdir -p "$tmp/initramfs/bin" "$tmp/initramfs/modules" "$tmp/initramfs/proc" "$tmp/initramfs/sys" \
    "$tmp/initramfs/dev" "$tmp/initramfs/newroot"
: >"$tmp/initramfs/modules/order"
for p in "${mod_order[@]}"; do
    cp "$moddir/$p" "$tmp/initramfs/modules/"
    echo "${p##*/}" >>"$tmp/initramfs/modules/order"
done
cp "$busybox" "$tmp/initramfs/bin/busybox"

# --- configuration for /init
{
    printf 'KVM_AMD_PARAMS=%q\n' "$kvm_amd_params"
    printf 'VERBOSE=%q\n' "$verbose"
} >"$tmp/initramfs/config"
: >"$tmp/initramfs/shares"
i=0
for d in "${share_paths[@]}"; do
    printf 'share%d %s\n' "$i" "$d" >>"$tmp/initramfs/shares"
    i=$((i + 1))
done
cp "$here/vm-init.sh" "$tmp/initramfs/init"
chmod 755 "$tmp/initramfs/init" "$tmp/initramfs/bin/busybox"
(cd "$tmp/initramfs" && find . | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) >"$tmp/initramfs.cpio" ||
    die "could not build the initramfs"

# --- output plumbing: QEMU writes each console into a FIFO that a reader copies out
mkfifo "$tmp/out.fifo" "$tmp/err.fifo" "$tmp/con.fifo"
cat "$tmp/out.fifo" &
reader_pids+=($!)
cat "$tmp/err.fifo" >&2 &
reader_pids+=($!)
if [[ $verbose == 1 ]]; then
    tee "$tmp/console.log" <"$tmp/con.fifo" >&2 &
else
    cat "$tmp/con.fifo" >"$tmp/console.log" &
fi
reader_pids+=($!)

# The VM's TSC counts at the host's TSC rate (TCG reads the host's cycle counter). Its kernel would
# calibrate that rate at boot, and on a busy host got it wrong enough for its clock to run about
# three times slower than the host's, stretching every time limit inside it: hand it the host's
# own calibration instead (tsc_early_khz; the later refinement only accepts a value within 1%).
kernel_args="console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off i8042.noaux i8042.nokbd i8042.nopnp 8250.nr_uarts=1 tsc=reliable transparent_hugepage=never"
host_tsc_khz=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Detected \([0-9]*\)\.\([0-9][0-9][0-9]\) MHz processor.*/\1\2/p' | head -n 1)
[[ -z $host_tsc_khz ]] || kernel_args+=" tsc_early_khz=$host_tsc_khz"

# TCG runs one host thread per vcpu (thread=multi). With all vcpus on one thread (thread=single)
# a nested Linux with 3 vcpus never finished booting: TCG switches vcpus only every 100 ms, and
# the nested guest's vcpus wait for each other far more often than that.
# transparent_hugepage=never: with it, khugepaged collapsing a nested guest's RAM locked up one
# vcpu of this VM for good (soft lockups for 850 s and more, the whole VM stalled) while tests ran.
# The VM keeps its TSC clocksource: with clocksource=hpet the inner KVM's kvm-clock is not
# backed by a TSC, and Linux guests booted there stopped short of /init. The TSC's frequency is
# calibrated at boot, so boot the VM on a host that is not busy with builds: under load its
# time ran about three times slower than the host's.
# shellcheck disable=SC2054 # the commas belong to QEMU option values
qemu_args=(
    -accel "$qemu_accel"
    -cpu "$qemu_cpu"
    -machine pc
    -smp "$cpus" -m "$memory"
    -nodefaults -no-user-config -display none -no-reboot
    -kernel "$cache/vmlinuz" -initrd "$tmp/initramfs.cpio"
    -append "$kernel_args"
    -chardev file,id=con,path="$tmp/con.fifo" -serial chardev:con
    -device virtio-serial-pci,id=vser
    -chardev file,id=out,path="$tmp/out.fifo" -device virtconsole,bus=vser.0,chardev=out,name=kvmvm.stdout
    -chardev file,id=err,path="$tmp/err.fifo" -device virtconsole,bus=vser.0,chardev=err,name=kvmvm.stderr
    -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
    -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
    -fsdev local,id=ctl,path="$tmp/ctl",security_model=none
    -device virtio-9p-pci,fsdev=ctl,mount_tag=ctl
)
i=0
for d in "${share_paths[@]}"; do
    qemu_args+=(-fsdev "local,id=share$i,path=${d//,/,,},security_model=none,multidevs=remap"
        -device "virtio-9p-pci,fsdev=share$i,mount_tag=share$i")
    i=$((i + 1))
done

info "booting $rel in QEMU TCG (${cpus} vcpus, ${memory} MiB, limit ${timeout_s}s)"
# timeout(1) ends QEMU at the limit (exit 124); a SIGTERM to it is passed on to QEMU.
timeout --kill-after=10 "$timeout_s" "$qemu" "${qemu_args[@]}" </dev/null >"$tmp/qemu.log" 2>&1 &
qemu_pid=$!
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=""
[[ $qemu_rc != "$TIMED_OUT" && $qemu_rc != 137 ]] || echo timeout >"$tmp/timed-out"
# A reader whose FIFO QEMU never opened (QEMU failed early) waits for a writer: opening
# a FIFO read-write never blocks, and closing it gives every reader its end of file.
for f in "$tmp"/*.fifo; do : <>"$f"; done
for p in "${reader_pids[@]}"; do wait "$p" 2>/dev/null || true; done
reader_pids=()
t_end=$(date +%s.%N)
[[ -z $console_keep ]] || cp "$tmp/console.log" "$console_keep" || true

show_console() {
    echo "$me: --- last lines of the VM console ---" >&2
    tail -n 40 "$tmp/console.log" >&2 || true
    if [[ -s $tmp/qemu.log ]]; then
        echo "$me: --- QEMU said ---" >&2
        tail -n 20 "$tmp/qemu.log" >&2
    fi
}

if [[ -f $tmp/timed-out ]]; then
    echo "$me: error: time limit of ${timeout_s}s reached; the VM was killed" >&2
    show_console
    exit $TIMED_OUT
fi
if [[ -f $tmp/ctl/harness-error ]]; then
    echo "$me: error: $(<"$tmp/ctl/harness-error")" >&2
    show_console
    exit $HARNESS_FAIL
fi
if [[ ! -f $tmp/ctl/status ]]; then
    if [[ $qemu_rc != 0 ]]; then
        echo "$me: error: QEMU failed (exit status $qemu_rc)" >&2
    elif [[ -f $tmp/ctl/started ]]; then
        echo "$me: error: the VM stopped before the command finished (QEMU exit status $qemu_rc)" >&2
    else
        echo "$me: error: the VM never reached the command (QEMU exit status $qemu_rc; did the kernel boot?)" >&2
    fi
    show_console
    exit $HARNESS_FAIL
fi
rc=$(<"$tmp/ctl/status")
[[ $rc =~ ^[0-9]+$ ]] || die "bad exit status from the VM: '$rc'"
if [[ $verbose == 1 ]]; then
    info "total $(awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%.1f", b - a }') s;" \
        "guest uptime when the command started: $(cat "$tmp/ctl/started") s; exit status $rc"
fi
exit "$rc"
