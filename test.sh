#!/usr/bin/env bash
# Installs what is missing, builds kvmscope and runs the whole test suite with ctest: in the normal
# build, built with ASan + UBSan, and the unit and integration tests built with TSan; then a short
# run of every libFuzzer target.
# Where this host has no usable /dev/kvm, the normal build's tests labelled `kvm` run inside the
# nested harness (tests/kvm-vm/run-in-kvm-vm.sh: QEMU TCG emulating SVM, with Debian's kernel and
# kvm-amd), the others on the host; the sanitizer passes stay on the host and leave the `kvm`
# tests out there, saying so (docs/testing-without-kvm.md).
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
    # The virtio-root guest beside it (an initramfs and an ext4 image made with mke2fs -d):
    # without it test_virtio_root is skipped, the other boots still run.
    "$KVMSCOPE_ROOT/tests/guests/build-virtio-root.sh" --quiet "$KVMSCOPE_TEST_KERNEL_DIR" ||
        echo "kvmscope: no virtio-root guest: test_virtio_root will be skipped" >&2
fi

status=0
if ! no_kvm=$(kvm_unusable_reason); then
    log_step "running the tests"
    (cd "$KVMSCOPE_BUILD" && ctest --output-on-failure -j "$(nproc)" "$@") || status=$?
    sanitizer_filter=()
else
    kvm_tests=$(cd "$KVMSCOPE_BUILD" && ctest -N -L kvm "$@" | sed -n 's/^Total Tests: //p')
    host_tests=$(cd "$KVMSCOPE_BUILD" && ctest -N -LE kvm "$@" | sed -n 's/^Total Tests: //p')
    log_step "running the ${host_tests:-0} tests that need no /dev/kvm on the host"
    (cd "$KVMSCOPE_BUILD" && ctest --output-on-failure -j "$(nproc)" -LE kvm "$@") || status=$?
    log_step "running the ${kvm_tests:-0} tests labelled kvm in the nested harness ($no_kvm)"
    # One VM with one vcpu, one test at a time; a VM that goes down or stops is replaced for the
    # tests it did not finish, and one time limit for all of them keeps a hang from eating CI's
    # budget (docs/testing-without-kvm.md).
    "$KVMSCOPE_ROOT/tests/kvm-vm/run-tests-in-vm.sh" "$KVMSCOPE_BUILD" "$@" || status=$?
    echo "kvmscope: ${host_tests:-0} tests ran on the host, ${kvm_tests:-0} in the nested VM" \
        "(QEMU TCG with emulated SVM) because $no_kvm" >&2
    # The sanitizer passes stay on the host: there the tests labelled kvm could only skip.
    sanitizer_filter=(-LE kvm)
    echo "kvmscope: the ASan/UBSan and TSan passes below leave out the tests labelled kvm:" \
        "$no_kvm, and the nested VM is too slow for instrumented builds" >&2
fi
[ "$status" = 0 ] || { echo "kvmscope: tests failed (status $status)" >&2; exit "$status"; }

# The same suite built with AddressSanitizer and UndefinedBehaviorSanitizer, in its own build
# directory; the first report fails the run (docs/hardening.md).
log_step "building with ASan + UBSan"
KVMSCOPE_BUILD="$KVMSCOPE_ROOT/build-asan" configure_and_build \
    -DKVMSCOPE_SANITIZE=address,undefined -DKVMSCOPE_BUILD_BENCH=OFF
log_step "running the tests under ASan + UBSan"
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0
export LSAN_OPTIONS="suppressions=$KVMSCOPE_ROOT/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
(cd "$KVMSCOPE_ROOT/build-asan" && ctest --output-on-failure -j "$(nproc)" "${sanitizer_filter[@]}" "$@")

# The same unit and integration tests built with ThreadSanitizer, among them the threading stress
# test and the hostile guests (docs/hardening.md, "ThreadSanitizer").
log_step "building and running the tests under ThreadSanitizer"
"$KVMSCOPE_ROOT/scripts/run-tsan.sh" "${sanitizer_filter[@]}" "$@"

# libFuzzer targets (clang, ASan + UBSan): a short, fixed run of each on a copy of its seed
# corpus; a finding fails the run (docs/hardening.md, "Fuzzers").
log_step "running the fuzzers (short run)"
"$KVMSCOPE_ROOT/scripts/run-fuzzers.sh" "$KVMSCOPE_ROOT/build-fuzz"
