#!/usr/bin/env bash
# Builds kvmscope's libFuzzer targets (fuzz/, clang + ASan + UBSan) and runs each one on a copy of
# its seed corpus, fuzz/corpus/<target>/; the repository's corpus is never written. Any crash,
# sanitizer report, timeout or out-of-memory fails the run; the input that caused it is kept
# under <build-dir>/fuzz-findings/<target>/ (docs/hardening.md, "Fuzzers").
#
#   scripts/run-fuzzers.sh [options] [build-dir]
#     build-dir       the fuzz build directory (default: $KVMSCOPE_BUILD if it is a fuzz build,
#                     else build-fuzz/ next to the sources); configured here when new
#     --runs N        executions per target (default 3000, with a fixed seed: the short run
#                     that ./test.sh makes)
#     --seconds S     run each target for S seconds instead, with a random seed (a long run)
#     --only NAME     only the targets whose name contains NAME (e.g. loader, device_uart)
#     --keep DIR      keep each target's grown corpus in DIR/<target>/ (for a long run)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=3000
seconds=
only=
keep=
build=
while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) echo "run-fuzzers.sh: unknown option $1" >&2; exit 2 ;;
    *) build=$1; shift ;;
    esac
done
if [ -z "$build" ]; then
    if [ -n "${KVMSCOPE_BUILD:-}" ] && grep -qs '^KVMSCOPE_BUILD_FUZZERS:BOOL=ON' \
        "$KVMSCOPE_BUILD/CMakeCache.txt"; then
        build=$KVMSCOPE_BUILD
    else
        build=$root/build-fuzz
    fi
fi
mkdir -p "$build"
build=$(cd "$build" && pwd)

# A build directory configured for something else would be reconfigured with clang: refuse.
if [ -f "$build/CMakeCache.txt" ] && ! grep -q '^KVMSCOPE_BUILD_FUZZERS:BOOL=ON' \
    "$build/CMakeCache.txt"; then
    echo "run-fuzzers.sh: $build is not a fuzz build (KVMSCOPE_BUILD_FUZZERS=ON)" >&2
    exit 2
fi
if [ ! -f "$build/build.ninja" ]; then
    launcher=()
    command -v ccache >/dev/null &&
        launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DKVMSCOPE_BUILD_FUZZERS=ON -DKVMSCOPE_BUILD_TESTS=OFF -DKVMSCOPE_BUILD_BENCH=OFF \
        "${launcher[@]}" >/dev/null
fi
ninja -C "$build" kvmscope_fuzzers >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
findings=$build/fuzz-findings
# A timeout or a 4 GiB RSS is a finding too. The large-memory loader inputs may legitimately zero
# up to 3 GiB of guest RAM (an ELF or multiboot bss): that takes seconds under ASan on a busy
# machine (27 s measured with a 1.3 GiB bss on two loaded cores), hence the generous limits.
common=(-timeout=60 -rss_limit_mb=4096 -print_final_stats=1)
if [ -n "$seconds" ]; then
    limit=(-max_total_time="$seconds")
else
    limit=(-runs="$runs" -seed=1)
fi

failed=0
for corpus in "$root"/fuzz/corpus/*/; do
    target=$(basename "$corpus")
    [ -n "$only" ] && [[ $target != *"$only"* ]] && continue
    binary=$build/fuzz/$target
    [ -x "$binary" ] || { echo "$target: not built ($binary)" >&2; failed=1; continue; }
    mkdir -p "$work/$target" "$findings/$target"
    cp -r "$corpus". "$work/$target/"
    start=$SECONDS
    status=0
    "$binary" "${common[@]}" "${limit[@]}" -artifact_prefix="$findings/$target/" \
        "$work/$target" >"$work/$target.log" 2>&1 || status=$?
    elapsed=$((SECONDS - start))
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target.log" | tail -1 || true)
    coverage=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' "$work/$target.log" | tail -1 || true)
    if [ "$status" -eq 0 ]; then
        printf '%-28s ok      %8s executions in %4d s  %s\n' "$target" "${executions:-?}" \
            "$elapsed" "$coverage"
    else
        failed=1
        printf '%-28s FAILED  %8s executions in %4d s  (exit %d)\n' "$target" \
            "${executions:-?}" "$elapsed" "$status"
        grep -E 'ERROR|kvmscope fuzz finding|runtime error|SUMMARY|Test unit written' \
            "$work/$target.log" | head -20 | sed 's/^/    /' >&2
        cp "$work/$target.log" "$findings/$target/last-run.log"
    fi
    if [ -n "$keep" ]; then
        mkdir -p "$keep/$target"
        cp -r "$work/$target/." "$keep/$target/"
    fi
done
exit "$failed"
