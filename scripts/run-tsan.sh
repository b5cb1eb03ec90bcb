#!/usr/bin/env bash
# Builds kvmscope with ThreadSanitizer in its own build directory and runs the suites that
# exercise its threads: the unit tests, the integration tests (real guests on /dev/kvm: vcpu
# threads, kicks, pause/step/stop, the serial and signal threads of the CLI), among them the
# threading stress test and the hostile guests (docs/hardening.md, "ThreadSanitizer").
# The first report fails the run (halt_on_error). The GUI tests are left out: Qt's widgets are
# not instrumented, and the core's threads, which the window only observes through queued
# signals, are all exercised here without it.
#
# Usage: scripts/run-tsan.sh [ctest arguments...]   (KVMSCOPE_TSAN_BUILD picks the directory)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KVMSCOPE_BUILD=${KVMSCOPE_TSAN_BUILD:-$KVMSCOPE_ROOT/build-tsan}
if [ -f "$KVMSCOPE_BUILD/CMakeCache.txt" ] &&
    ! grep -q '^KVMSCOPE_SANITIZE:STRING=thread$' "$KVMSCOPE_BUILD/CMakeCache.txt"; then
    echo "kvmscope: $KVMSCOPE_BUILD is not a ThreadSanitizer build (KVMSCOPE_SANITIZE=thread)" >&2
    exit 1
fi
log_step "building with ThreadSanitizer in $KVMSCOPE_BUILD"
configure_and_build -DKVMSCOPE_SANITIZE=thread -DKVMSCOPE_BUILD_BENCH=OFF

# halt_on_error: the first race fails the test that hit it. second_deadlock_stack: both stacks of
# a lock-order inversion.
# ignore_noninstrumented_modules: Debian's Qt and libstdc++ are not built with TSan, so the
# memory accesses their own code makes through intercepted calls (memmove, free, pthread_cond_*)
# come without the accesses and futex-based locks around them that would order them; TSan then
# reports races inside Qt that are not there (QtTest's watchdog thread at the end of every test,
# a signal emitted from two threads at once). With it, those interceptor accesses are not
# checked; synchronisation through them still counts, and every access kvmscope's own
# (instrumented) code makes is checked as before.
# die_after_fork=0: the tests start kvmscope with QProcess, which clones the child with
# CLONE_VM | CLONE_VFORK; until its exec the child runs in the test's own memory, so TSan's
# after-fork state lands in the test process, which would then die at its next pthread_create
# although it never forked itself.
# The suppressions may only name code outside kvmscope (tests/tsan.supp says why for each one).
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:die_after_fork=0:suppressions=$KVMSCOPE_ROOT/tests/tsan.supp${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
log_step "running the unit and integration tests under ThreadSanitizer"
(cd "$KVMSCOPE_BUILD" && ctest --output-on-failure -j "$(nproc)" -L 'unit|integration' "$@")
