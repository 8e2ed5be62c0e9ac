#!/usr/bin/env bash
# Runs every fuzz target for a bounded time, from its committed seeds; fails if any target
# crashes. What .ci/run calls, and what a developer runs:
#
#   bash fuzz/run.sh                        # every target, 60 s each, two at a time
#   FUZZ_SECONDS=600 FUZZ_TARGETS=storage_open bash fuzz/run.sh
#
# FUZZ_SECONDS  time per target (default 60)
# FUZZ_JOBS     targets run at once (default 2: one per core of a project machine)
# FUZZ_TARGETS  space-separated subset (default: all of `cargo fuzz list`)
#
# cargo-fuzz needs a nightly compiler (for -Zsanitizer and the coverage flags). The nightly
# toolchain is used when rustup has one; otherwise the pinned stable toolchain with
# RUSTC_BOOTSTRAP=1, which accepts the same flags. New inputs go to a scratch corpus, never
# into fuzz/seeds/; a crash is written to fuzz/artifacts/<target>/ and printed in hex.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}

if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    cargo=(cargo +nightly)
    echo "fuzz: toolchain $(rustup run nightly rustc --version)"
else
    export RUSTC_BOOTSTRAP=1
    cargo=(cargo)
    echo "fuzz: no nightly toolchain; using $(rustc --version) with RUSTC_BOOTSTRAP=1"
fi

if ! command -v cargo-fuzz >/dev/null; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

# The fuzz crate is outside the root workspace, so the root's fmt check does not cover it.
cargo fmt -- --check

targets=${FUZZ_TARGETS:-$("${cargo[@]}" fuzz list | tr '\n' ' ')}
echo "fuzz: building $targets"
"${cargo[@]}" fuzz build

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

run_one() {
    local target=$1
    mkdir -p "$scratch/corpus/$target"
    # Inputs of fixed crashes are replayed first, as a corpus of their own (libFuzzer writes new
    # inputs only into the first directory, the scratch one).
    local fixed=()
    [ -d "artifacts-fixed/$target" ] && fixed=("artifacts-fixed/$target")
    # -timeout: an input that takes 10 s is a hang; -rss_limit_mb: 2 GiB is a leak or a bomb.
    "${cargo[@]}" fuzz run "$target" "$scratch/corpus/$target" "seeds/$target" "${fixed[@]}" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$scratch/$target.log" 2>&1
}

report() {
    local target=$1 rc=$2 log="$scratch/$1.log"
    local done_line execs speed
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    if [ "$rc" -eq 0 ]; then
        echo "fuzz: $target ok: ${execs:-?} runs, ${speed:-?}/s; ${done_line#*DONE }"
        return 0
    fi
    echo "fuzz: $target FAILED (exit $rc); its log:"
    tail -n 80 "$log"
    local crash
    for crash in $(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log"); do
        echo "fuzz: $target input $crash:"
        od -An -tx1 -v "$crash" | head -n 64
    done
    return 1
}

failed=0
passed=0
set -- $targets
while [ $# -gt 0 ]; do
    batch=()
    pids=()
    for _ in $(seq "$jobs"); do
        [ $# -gt 0 ] || break
        batch+=("$1")
        run_one "$1" &
        pids+=($!)
        shift
    done
    for i in "${!batch[@]}"; do
        rc=0
        wait "${pids[$i]}" || rc=$?
        if report "${batch[$i]}" "$rc"; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
        fi
    done
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
