#!/usr/bin/env bash
# Installs what is missing, builds kvmscope and runs it on the default demo guest: in its window
# when a display is there (DISPLAY or WAYLAND_DISPLAY), on the terminal (--headless) otherwise.
# Extra arguments go to kvmscope, e.g. ./run.sh --demo smp, or ./run.sh --headless my-kernel.elf.
# Without a usable /dev/kvm it builds, then says why the demo cannot run and how to run it in the
# nested harness; exit status 3, as kvmscope itself gives for "KVM unavailable".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/scripts/common.sh"

install_packages "${KVMSCOPE_PACKAGES[@]}"
configure_and_build

# Without a usable /dev/kvm no guest can run here: say so, and how to run one in the software-
# emulated VM of tests/kvm-vm (README, "Quick start"), rather than failing inside kvmscope.
if no_kvm=$(kvm_unusable_reason); then
    echo "kvmscope: built in $KVMSCOPE_BUILD, but the demo cannot run here: $no_kvm." >&2
    echo "kvmscope: to run a guest in a software-emulated VM with its own KVM (slow, headless):" >&2
    echo "  tests/kvm-vm/run-in-kvm-vm.sh -- $KVMSCOPE_BUILD/bin/kvmscope --headless --timeout 60 $*" >&2
    exit 3
fi

args=("$@")
if [[ -z ${DISPLAY:-} && -z ${WAYLAND_DISPLAY:-} && ! " ${args[*]} " =~ " --headless " ]]; then
    args=(--headless "${args[@]}")
fi
log_step "running kvmscope ${args[*]}"
exec "$KVMSCOPE_BUILD/bin/kvmscope" "${args[@]}"
