#!/usr/bin/env bash
# Installs what is missing, builds kvmscope and runs the whole test suite with ctest: in the normal
# build, built with ASan + UBSan, and the unit and integration tests built with TSan; then a short
# run of every libFuzzer target.
# Tests that need /dev/kvm are skipped, with the reason printed, where it is absent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/scripts/common.sh"

install_packages "${KVMSCOPE_PACKAGES[@]}"
configure_and_build

# Debian's own kernel and a busybox initramfs for the Linux boot tests, downloaded once and
# cached (nothing is installed on the host). Without them those tests are skipped, with the
# reason, rather than failing the suite.
log_step "fetching the test kernel (cached)"
export KVMSCOPE_TEST_KERNEL_DIR="${KVMSCOPE_CACHE:-${HOME:-/tmp}/.cache/kvmscope}/debian-kernel"
if ! { "$KVMSCOPE_ROOT/tests/guests/fetch-debian-kernel.sh" --quiet "$KVMSCOPE_TEST_KERNEL_DIR" &&
       "$KVMSCOPE_ROOT/tests/guests/build-initramfs.sh" --quiet "$KVMSCOPE_TEST_KERNEL_DIR"; }; then
    echo "kvmscope: no test kernel: the Linux boot tests will be skipped" >&2
else
    export KVMSCOPE_TEST_BZIMAGE="$KVMSCOPE_TEST_KERNEL_DIR/vmlinuz"
fi

log_step "running the tests"
(cd "$KVMSCOPE_BUILD" && ctest --output-on-failure -j "$(nproc)" "$@")

# The same suite built with AddressSanitizer and UndefinedBehaviorSanitizer, in its own build
# directory; the first report fails the run (docs/hardening.md).
log_step "building with ASan + UBSan"
KVMSCOPE_BUILD="$KVMSCOPE_ROOT/build-asan" configure_and_build \
    -DKVMSCOPE_SANITIZE=address,undefined -DKVMSCOPE_BUILD_BENCH=OFF
log_step "running the tests under ASan + UBSan"
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0
export LSAN_OPTIONS="suppressions=$KVMSCOPE_ROOT/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
(cd "$KVMSCOPE_ROOT/build-asan" && ctest --output-on-failure -j "$(nproc)" "$@")

# The same unit and integration tests built with ThreadSanitizer, among them the threading stress
# test and the hostile guests (docs/hardening.md, "ThreadSanitizer").
log_step "building and running the tests under ThreadSanitizer"
"$KVMSCOPE_ROOT/scripts/run-tsan.sh" "$@"

# libFuzzer targets (clang, ASan + UBSan): a short, fixed run of each on a copy of its seed
# corpus; a finding fails the run (docs/hardening.md, "Fuzzers").
log_step "running the fuzzers (short run)"
"$KVMSCOPE_ROOT/scripts/run-fuzzers.sh" "$KVMSCOPE_ROOT/build-fuzz"
