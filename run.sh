#!/usr/bin/env bash
# Installs what is missing, builds kvmscope and runs it on the default demo guest.
# Extra arguments go to kvmscope, e.g. ./run.sh --demo smp, or ./run.sh --headless my-kernel.elf
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/scripts/common.sh"

install_packages "${KVMSCOPE_PACKAGES[@]}"
configure_and_build

args=("$@")
# Until the desktop window lands every run is headless; say so explicitly.
if [[ ! " ${args[*]} " =~ " --headless " ]]; then
    args=(--headless "${args[@]}")
fi
log_step "running kvmscope ${args[*]}"
exec "$KVMSCOPE_BUILD/bin/kvmscope" "${args[@]}"
