#!/usr/bin/env bash
# Run the build's ctest tests labelled `kvm` inside the nested harness (run-in-kvm-vm.sh), two at a
# time, and survive the VM itself going down: each test's outcome is written to a state directory
# in the build tree as it finishes, and when the VM stops before every test has one (QEMU's
# emulated SVM can take the VM's own kernel down), a new VM runs only the tests still without one.
#
# usage: run-tests-in-vm.sh BUILD_DIR [ctest selection arguments, e.g. -R NAME]
#
# environment: KVMSCOPE_NESTED_TIMEOUT  time limit of all VMs together, seconds (default 2700)
#              KVMSCOPE_NESTED_BOOTS    VMs to try at most (default 3)
# exit status: 0 when every selected test passed, 1 when one failed or never finished, 125 when
# the harness could not run at all.
set -euo pipefail

me=run-tests-in-vm
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
(($# >= 1)) || { echo "usage: $me BUILD_DIR [ctest arguments...]" >&2; exit 2; }
build=$(cd "$1" && pwd -P)
shift
root=$(cd "$here/../.." && pwd -P)
state=$build/Testing/kvm-vm
jobs=${KVMSCOPE_NESTED_JOBS:-2}

# --- inside the VM: run the named tests, $jobs at a time; each one's log and status land in $state
if [[ ${KVMSCOPE_IN_VM_RUNNER:-} == 1 ]]; then
    cd "$build"
    # The GUI tests keep their settings in the build tree (XDG_CONFIG_HOME, tests/gui), which is a
    # 9p share here, where QSettings' writes do not reach the file: a tmpfs over each one.
    for name in "$@"; do
        [[ $name == test_gui_* ]] || continue
        config=$build/tests/gui/config-$name
        mkdir -p "$config" && mount -t tmpfs "config-$name" "$config" ||
            echo "$me: no tmpfs for $config" >&2
    done
    run_one() {
        local name=$1 rc=0
        # A test failing here runs once more: the nested SVM now and then hands back state that
        # is not the guest's (docs/testing-without-kvm.md). Both runs are in the log.
        ctest --output-on-failure --repeat until-pass:2 -R "^${name}\$" >"$state/$name.log" 2>&1 ||
            rc=$?
        cat "$state/$name.log"
        echo "$rc" >"$state/$name.status"
    }
    export -f run_one
    export state
    printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'run_one "$1"' _ {}
    exit 0
fi

# --- on the host: which tests, then VMs until each has an outcome
mapfile -t tests < <(cd "$build" && ctest -N -L kvm "$@" | sed -n 's/^ *Test *#[0-9]*: \(.*\)$/\1/p')
((${#tests[@]} > 0)) || { echo "$me: no test labelled kvm selected" >&2; exit 1; }
# Longest first, by the times of earlier runs that ctest keeps, so two at a time end together.
costs=$build/Testing/Temporary/CTestCostData.txt
if [[ -f $costs ]]; then
    mapfile -t tests < <(for name in "${tests[@]}"; do
        printf '%s %s\n' "$(awk -v n="$name" '$1 == n { print $3; exit }' "$costs")" "$name"
    done | sort -k1,1 -g -r | cut -d' ' -f2)
fi
rm -rf "$state"
mkdir -p "$state"
boots=${KVMSCOPE_NESTED_BOOTS:-3}
deadline=$(($(date +%s) + ${KVMSCOPE_NESTED_TIMEOUT:-2700}))
for ((boot = 1; boot <= boots; ++boot)); do
    left=$((deadline - $(date +%s)))
    if ((left < 60)); then
        echo "$me: the time limit of ${KVMSCOPE_NESTED_TIMEOUT:-2700}s is used up" >&2
        break
    fi
    remaining=()
    for name in "${tests[@]}"; do [[ -f $state/$name.status ]] || remaining+=("$name"); done
    ((${#remaining[@]} > 0)) || break
    if ((boot > 1)); then
        echo "$me: the VM stopped with ${#remaining[@]} tests left; booting another for them:" \
            "${remaining[*]}" >&2
        # A test that was running when the VM went down has a log but no status: keep it.
        for name in "${remaining[@]}"; do
            [[ ! -f $state/$name.log ]] || mv "$state/$name.log" "$state/$name.vm$((boot - 1)).log"
        done
    fi
    rc=0
    # The VM sees the host's root read-only and an empty /tmp: share the checkout (this script,
    # the sources gdb shows) and the build tree, wherever they are.
    shares=(-C "$root")
    [[ $build == "$root"/* ]] || shares+=(-s "$build")
    "$here/run-in-kvm-vm.sh" "${shares[@]}" -t "$left" \
        -e KVMSCOPE_IN_VM_RUNNER=1 -e KVMSCOPE_NESTED_JOBS="$jobs" -- \
        bash "$here/run-tests-in-vm.sh" "$build" "${remaining[@]}" || rc=$?
    # 124: the time limit; anything else but 0 means the VM or the harness went down.
    [[ $rc == 0 || $rc == 125 || $rc == 124 ]] || echo "$me: the VM run ended with status $rc" >&2
    [[ $rc != 124 ]] || break
done

passed=0 failed=0 unfinished=0
failures=()
for name in "${tests[@]}"; do
    if [[ ! -f $state/$name.status ]]; then
        unfinished=$((unfinished + 1)); failures+=("$name (never finished)")
    elif [[ $(<"$state/$name.status") == 0 ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1)); failures+=("$name")
    fi
done
echo "$me: ${#tests[@]} tests in the nested VM: $passed passed, $failed failed, $unfinished never finished" >&2
((${#failures[@]} == 0)) || { printf '%s: failed: %s\n' "$me" "${failures[@]}" >&2; exit 1; }
