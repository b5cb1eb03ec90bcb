#!/usr/bin/env bash
# Run one guest many times, headless, and count how each run ended: the harness for guests that
# fail now and then (issue 21, item 7: plasma triple-faulting about 1.2 s in, kbd-echo running off
# into MMIO writes at 0x2badb0ae after 6-15 s). Where this host has no usable /dev/kvm, every run
# happens inside ONE nested VM (run-in-kvm-vm.sh), a loop in the VM, not a VM per run.
#
# usage: repeat-guest.sh [options] GUEST
#   GUEST              a demo (plasma, hello, ...) or a test guest built beside it (kbd-echo, ...)
#   -n, --runs N       runs (default 50)
#   -t, --seconds S    how long each run lasts once the guest has printed its ready line
#                      ("plasma: drawing in ring 3", "kbd-echo: ready"; from the start for
#                      other guests): default plasma 30, kbd-echo 20, else 10. Counted from the
#                      ready line because a busy host holds a nested guest up for a minute at times.
#                      Nested under TCG the plasma draws about 150 frames/s, natively about 2,500:
#                      30 s here is about as far into the drawing as 1.5-2 s on hardware
#   -r, --ready-max S  a run whose guest has not printed its ready line after S s is ended and
#                      counted as slow (default 180)
#   -k, --kvmscope BIN the kvmscope binary (default: build/bin/kvmscope of this checkout); a test
#                      guest is taken from BIN's ../share/kvmscope/guests/
#   -o, --out DIR      where each run's outcome (results.txt) and the logs of runs that did not end
#                      clean are kept (default: a new directory under /tmp); results.txt is appended
#                      to, so a second call with the same DIR adds to the count
#   -l, --label TEXT   name of this set in the tally (default: GUEST)
#   -g, --gdb-check    stop each run through kvmscope's gdb stub and read RIP, RAX and R8, and count
#                      a run whose RIP lies outside the guest's executable segments as run off.
#                      Default for kbd-echo, whose run-off is otherwise silent headless (unbacked
#                      MMIO writes vanish and the guest runs on like a healthy one), and for plasma,
#                      whose frame counter is R8 (how far each run got)
#       --no-gdb-check
#   -c, --cpus N       the nested VM's vcpus (default 1, as run-tests-in-vm.sh: with 2 the VM
#                      stopped dead now and then)
#   -- ARGS            more kvmscope options for every run
#
# Outcomes, one per run, from kvmscope's exit status, stderr and (with --gdb-check) the final
# registers:
#   clean          printed its ready line and ran S s more until this script ended it (SIGTERM,
#                  status 143, or the gdb stop); with --gdb-check RIP inside the guest's code
#   triple-fault   status 4 with "triple fault" in kvmscope's stop reason
#   mmio-runoff    --gdb-check: RIP outside the guest's executable segment (RAX is printed: the
#                  address the issue saw, 0x2badb0ae, is the Multiboot magic 0x2BADB002 that EAX
#                  holds at entry with another low byte, and kbd-echo's idle loop changes only AL)
#   guest-exception  status 253: the guest's own handler reported an exception (0x7E, plasma)
#   crash          status 4 for another reason (internal error, failed entry)
#   slow           never printed its ready line within --ready-max
#   harness        --gdb-check: the client never reached the stub (the guest never ran)
#   other          any other status (logs kept)
#
# exit status: 0 when every run was clean, 1 when one was not, 125 when the harness failed.
set -euo pipefail

me=repeat-guest
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd -P)

runs=50
seconds=""
kvmscope=$root/build/bin/kvmscope
out=""
label=""
gdb_check=""
vm_cpus=1
ready_max=180
extra=()
while (($#)); do
    case $1 in
        -n|--runs) runs=$2; shift ;;
        -t|--seconds) seconds=$2; shift ;;
        -k|--kvmscope) kvmscope=$2; shift ;;
        -o|--out) out=$2; shift ;;
        -l|--label) label=$2; shift ;;
        -g|--gdb-check) gdb_check=1 ;;
        --no-gdb-check) gdb_check=0 ;;
        -c|--cpus) vm_cpus=$2; shift ;;
        -r|--ready-max) ready_max=$2; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        --) shift; extra=("$@"); break ;;
        -*) echo "$me: unknown option '$1'" >&2; exit 2 ;;
        *) guest=$1 ;;
    esac
    shift
done
[[ -n ${guest:-} ]] || { echo "usage: $me [options] GUEST (--help)" >&2; exit 2; }
kvmscope=$(cd "$(dirname "$kvmscope")" && pwd -P)/$(basename "$kvmscope")
[[ -x $kvmscope ]] || { echo "$me: no kvmscope at $kvmscope" >&2; exit 125; }
guests=$(cd "$(dirname "$kvmscope")/.." && pwd -P)/share/kvmscope/guests
[[ -n $label ]] || label=$guest
ready=""
case $guest in
    plasma) seconds=${seconds:-30} ready='plasma: drawing in ring 3' ;;
    kbd-echo) seconds=${seconds:-20} ready='kbd-echo: ready' ;;
    *) seconds=${seconds:-10} ;;
esac
[[ -n $gdb_check ]] || { [[ $guest == kbd-echo || $guest == plasma ]] && gdb_check=1 || gdb_check=0; }
if [[ -z $out ]]; then
    out=$(mktemp -d "/tmp/$me-$label.XXXXXX")
fi
mkdir -p "$out"
out=$(cd "$out" && pwd -P)

# The demos run with --demo; a test guest by its file (kvmscope detects the format).
image_args=(--demo "$guest")
if ! "$kvmscope" --list-demos | awk '{print $1}' | grep -qx "$guest"; then
    [[ -f $guests/$guest ]] || { echo "$me: no demo or guest '$guest' ($guests)" >&2; exit 125; }
    image_args=("$guests/$guest")
fi
image_file=$guests/$guest

# One line of a run's outcome into results.txt: run, outcome, status, seconds, detail.
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$out/results.txt"; }

# The guest's executable PT_LOAD segments, one "start end" line each (for --gdb-check).
code_ranges() {
    local type offset vaddr paddr filesz memsz flags
    while read -r type offset vaddr paddr filesz memsz flags; do
        [[ $type == LOAD && $flags == *E* ]] || continue
        echo "$((vaddr)) $((vaddr + memsz))"
    done <<<"$(readelf -lW "$image_file" 2>/dev/null)"
}

# gdb_probe PORT SECONDS: a minimal gdb remote-protocol client. Continues the guest, waits,
# interrupts it (0x03) and prints "rip=0x... rax=0x... r8=0x..." from the `g` packet (kvmscope's
# x86-64 register file: rax at byte 0, r8 at 64, rip at 128; the plasma's frame counter is in r8),
# then kills the target. A stop that comes by itself
# meanwhile (the guest crashed or exited) is printed as "early=REPLY".
gdb_probe() {
    local python=python3
    [[ -x /usr/bin/python3 ]] && python=/usr/bin/python3
    "$python" - "$@" <<'EOF'
import socket, sys, time, select
port, wait = int(sys.argv[1]), float(sys.argv[2])
serial, ready, ready_max = sys.argv[3], sys.argv[4].encode(), float(sys.argv[5])
started = time.time()
s, error, deadline = None, None, time.time() + 120
while s is None and time.time() < deadline:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError as e:
        error = e; time.sleep(0.2)
if s is None:
    print("noconnect (%s)" % error); sys.exit(0)
buf = b""
def send(data):
    s.sendall(b"$" + data + b"#%02x" % (sum(data) & 0xff))
def packet(timeout=30.0):
    global buf
    end = time.time() + timeout
    while True:
        buf = buf.lstrip(b"+")
        i = buf.find(b"$"); j = buf.find(b"#", i + 1) if i >= 0 else -1
        if i >= 0 and j >= 0 and len(buf) >= j + 3:
            body = buf[i + 1:j]; buf = buf[j + 3:]
            s.sendall(b"+"); return body
        left = end - time.time()
        if left <= 0: return None
        r, _, _ = select.select([s], [], [], left)
        if not r: return None
        chunk = s.recv(65536)
        if not chunk: return None
        buf += chunk
send(b"?"); packet()
send(b"c")
# Wait for the guest's ready line (up to ready_max), then `wait` seconds more.
prefix, early, ready_at, until = "", None, None, None
if not ready:
    until = time.time() + wait
while early is None:
    now = time.time()
    if until is None:
        try:
            with open(serial, "rb") as f:
                if ready in f.read():
                    ready_at = now - started; until = now + wait
        except OSError:
            pass
        if until is None and now - started >= ready_max:
            prefix = "notready "; break
    if until is not None and now >= until:
        break
    early = packet(timeout=0.2)
if ready_at is not None:
    prefix = "ready=%.1f " % ready_at + prefix
if early is not None:
    print(prefix + "early=" + early.decode(errors="replace"))
else:
    s.sendall(b"\x03"); packet()
send(b"g"); regs = packet()
if regs and len(regs) >= 2 * 136 and not regs.startswith(b"E"):
    raw = bytes.fromhex(regs[:2 * 136].decode().replace("x", "0"))
    rax = int.from_bytes(raw[0:8], "little"); rip = int.from_bytes(raw[128:136], "little")
    r8 = int.from_bytes(raw[64:72], "little")
    print(prefix + "rip=0x%x rax=0x%x r8=0x%x" % (rip, rax, r8))
else:
    print(prefix + "noregs")
try:
    send(b"k"); time.sleep(0.2)
except OSError:
    pass
EOF
}

# --- the loop, where /dev/kvm works (here or in the VM).
run_loop() {
    local i lo hi r in_code
    local -a code=()
    if [[ ${KVMSCOPE_REPEAT_IN_VM:-} == 1 ]]; then
        # In the VM the host's files come over 9p: a copy in the VM's tmpfs starts faster.
        local copy=/tmp/$me
        mkdir -p "$copy/bin" "$copy/share/kvmscope"
        cp "$kvmscope" "$copy/bin/kvmscope"
        cp -r "$guests" "$copy/share/kvmscope/guests"
        kvmscope=$copy/bin/kvmscope guests=$copy/share/kvmscope/guests
        image_file=$guests/$guest
        [[ ${image_args[0]} == --demo ]] || image_args=("$image_file")
    fi
    if ((gdb_check)); then
        while read -r lo hi; do [[ -z $lo ]] || code+=("$lo-$hi"); done <<<"$(code_ranges)"
        ((${#code[@]})) || { echo "$me: no executable segment in $image_file for --gdb-check" >&2; exit 125; }
    fi
    echo "$me: $label: $runs runs of $seconds s after the ready line, kvmscope sha256 $(sha256sum "$kvmscope" | cut -c1-12), ${image_args[*]}$( ((gdb_check)) && for r in "${code[@]}"; do printf ', RIP in [%#x, %#x)' "${r%-*}" "${r#*-}"; done)"
    for ((i = 1; i <= runs; ++i)); do
        local log=$out/run-$label-$i status=0 outcome detail="" started ended elapsed probe="" ready_at=""
        started=$(date +%s.%N)
        if ((gdb_check)); then
            # The stub makes the guest wait before its first instruction for the client, which then
            # lets it run, waits for the ready line and $seconds more, stops it and reads its
            # registers; --timeout is only a backstop.
            "$kvmscope" --headless --serial file:"$log.serial" --gdb 127.0.0.1:0 \
                --timeout $((ready_max + seconds + 60)) "${extra[@]}" "${image_args[@]}" \
                >"$log.out" 2>"$log.err" &
            local pid=$! port="" tries
            for ((tries = 0; tries < 600; ++tries)); do
                port=$(sed -n 's/.*waiting for a client on .*:\([0-9]\+\)$/\1/p' "$log.err" | head -1)
                [[ -n $port ]] && break
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            if [[ -n $port ]]; then
                probe=$(gdb_probe "$port" "$seconds" "$log.serial" "$ready" "$ready_max" 2>&1 | tail -1) || true
            else
                probe="noport"
            fi
            # The client's kill ends kvmscope; one that is still there after 30 s is ended here.
            for ((tries = 0; tries < 300; ++tries)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" || status=$?
            [[ $probe == *ready=* ]] && ready_at=$(sed 's/.*ready=\([0-9.]*\).*/\1/' <<<"$probe")
        else
            # The run lasts until the guest's ready line and $seconds more (a busy host can hold a
            # nested guest up for a minute before it gets there), then SIGTERM ends it: status 143.
            # --timeout is only a backstop.
            "$kvmscope" --headless --serial file:"$log.serial" \
                --timeout $((ready_max + seconds + 60)) "${extra[@]}" "${image_args[@]}" \
                >"$log.out" 2>"$log.err" &
            local pid=$! now until=""
            [[ -n $ready ]] || until=$(awk -v a="$started" -v s="$seconds" 'BEGIN { printf "%.3f", a + s }')
            while kill -0 "$pid" 2>/dev/null; do
                now=$(date +%s.%N)
                if [[ -z $until ]] && grep -qaF "$ready" "$log.serial" 2>/dev/null; then
                    ready_at=$(awk -v a="$started" -v b="$now" 'BEGIN { printf "%.1f", b - a }')
                    until=$(awk -v a="$now" -v s="$seconds" 'BEGIN { printf "%.3f", a + s }')
                fi
                if [[ -n $until ]] && awk -v a="$now" -v b="$until" 'BEGIN { exit !(a >= b) }'; then
                    kill -TERM "$pid" 2>/dev/null || true
                    break
                fi
                if [[ -z $until ]] && awk -v a="$started" -v b="$now" -v m="$ready_max" 'BEGIN { exit !(b - a >= m) }'; then
                    kill -TERM "$pid" 2>/dev/null || true
                    break
                fi
                sleep 0.2
            done
            wait "$pid" || status=$?
        fi
        ended=$(date +%s.%N)
        elapsed=$(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.1f", b - a }')
        local err serial
        err=$(tr '\n' ' ' <"$log.err" | cut -c1-300)
        serial=$(cat "$log.serial" "$log.out" 2>/dev/null)
        if [[ $status == 4 ]] && grep -qi 'triple fault' "$log.err"; then
            outcome=triple-fault detail=$err
        elif [[ $status == 4 ]]; then
            outcome=crash detail=$err
        elif [[ $status == 253 ]]; then
            outcome=guest-exception detail=$(grep -a 'unexpected exception' <<<"$serial" | head -1)
        elif [[ $probe == *rip=* ]]; then
            local rip
            rip=$(sed 's/.*rip=\(0x[0-9a-f]*\).*/\1/' <<<"$probe")
            in_code=0
            for r in "${code[@]}"; do if ((rip >= ${r%-*} && rip < ${r#*-})); then in_code=1; fi; done
            if ((!in_code)); then
                outcome=mmio-runoff detail=$probe
            elif [[ $probe == *notready* ]]; then
                outcome=slow detail=$probe
            else
                outcome=clean detail=$probe
            fi
        elif ((gdb_check)) && [[ $probe == noconnect* || $probe == noport ]]; then
            # The client never reached the stub, so the guest never ran: says nothing of it.
            outcome=harness detail="status $status, gdb: $probe; $err"
        elif ((gdb_check)); then
            outcome=other detail="status $status, gdb: $probe; $err"
        elif [[ $status == 143 ]]; then
            if [[ -n $ready ]] && ! grep -qaF "$ready" <<<"$serial"; then
                outcome=slow
            else
                outcome=clean
            fi
        else
            outcome=other detail="status $status; $err"
        fi
        [[ -z $ready_at ]] || detail="ready after $ready_at s${detail:+; $detail}"
        record "$i" "$outcome" "$status" "$elapsed" "$detail"
        echo "$me: $label run $i: $outcome (status $status, ${elapsed} s)${detail:+ $detail}"
        # Keep the logs of the first run and of every run that did not end clean.
        if [[ $outcome == clean && $i != 1 ]]; then
            rm -f "$log.out" "$log.err" "$log.serial"
        fi
    done
}

tally() {
    awk -F'\t' -v label="$label" '
        { n++; count[$2]++ }
        END {
            printf "%s: %d runs, %d triple faults, %d MMIO run-offs, %d other failures, %d slow, %d harness, %d clean\n",
                label, n, count["triple-fault"], count["mmio-runoff"],
                count["crash"] + count["guest-exception"] + count["other"], count["slow"],
                count["harness"], count["clean"]
        }' "$out/results.txt"
}

if [[ ${KVMSCOPE_REPEAT_IN_VM:-} == 1 ]] || [[ -c /dev/kvm && -r /dev/kvm && -w /dev/kvm ]]; then
    run_loop
    tally
    if awk -F'\t' '$2 != "clean" { bad = 1 } END { exit !bad }' "$out/results.txt"; then exit 1; fi
    exit 0
fi

# --- no /dev/kvm here: the same script, once, inside one nested VM. Its time limit: the runs,
# up to 30 s of start-up and probing each, and the boot (minutes on a busy host).
limit=$((runs * (seconds + 60) + 900))
echo "$me: no usable /dev/kvm here: $runs runs in one nested VM (QEMU TCG, emulated SVM, $vm_cpus vcpu(s)); logs in $out" >&2
args=(-n "$runs" -t "$seconds" -r "$ready_max" -k "$kvmscope" -o "$out" -l "$label" -c "$vm_cpus")
((gdb_check)) && args+=(--gdb-check) || args+=(--no-gdb-check)
# The VM sees the host's root read-only, but /tmp, /run and /dev/shm are its own: share the
# kvmscope build tree when it lives there.
shares=(-s "$out")
prefix=$(cd "$(dirname "$kvmscope")/.." && pwd -P)
case $prefix in /tmp/*|/run/*|/dev/shm/*) [[ $prefix == "$root"/* ]] || shares+=(-s "$prefix") ;; esac
status=0
"$here/run-in-kvm-vm.sh" -c "$vm_cpus" -t "$limit" -C "$root" "${shares[@]}" -e KVMSCOPE_REPEAT_IN_VM=1 \
    -- "$here/repeat-guest.sh" "${args[@]}" "$guest" ${extra[@]+-- "${extra[@]}"} || status=$?
if [[ -f $out/results.txt ]]; then
    # The tally again on the host, over every run recorded, also when the VM went down meanwhile.
    tally
fi
exit "$status"
