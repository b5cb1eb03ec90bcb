#!/usr/bin/env bash
# Installs what is missing, builds kvmscope and runs the whole test suite with ctest.
# Tests that need /dev/kvm are skipped, with the reason printed, where it is absent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/scripts/common.sh"

install_packages "${KVMSCOPE_PACKAGES[@]}"
configure_and_build

log_step "running the tests"
cd "$KVMSCOPE_BUILD"
ctest --output-on-failure -j "$(nproc)" "$@"
