#!/usr/bin/env bash
# Installs what is missing, builds kvmscope and runs it on the default demo guest: in its window
# when a display is there (DISPLAY or WAYLAND_DISPLAY), on the terminal (--headless) otherwise.
# Extra arguments go to kvmscope, e.g. ./run.sh --demo smp, or ./run.sh --headless my-kernel.elf
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/scripts/common.sh"

install_packages "${KVMSCOPE_PACKAGES[@]}"
configure_and_build

args=("$@")
if [[ -z ${DISPLAY:-} && -z ${WAYLAND_DISPLAY:-} && ! " ${args[*]} " =~ " --headless " ]]; then
    args=(--headless "${args[@]}")
fi
log_step "running kvmscope ${args[*]}"
exec "$KVMSCOPE_BUILD/bin/kvmscope" "${args[@]}"
