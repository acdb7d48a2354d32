#!/usr/bin/env bash
# Runs every libFuzzer target in a build directory for a fixed time each.
#
#   scripts/fuzz.sh BUILD_DIR SECONDS
#
# For each executable BUILD_DIR/*_fuzz, copies its seed corpus
# fuzz/corpus/<name>/ into a fresh scratch directory fuzz/corpus-work/<name>/
# (git-ignored; the fuzzer adds what it finds there) and runs it with
# -max_total_time=SECONDS. A dictionary fuzz/<name>.dict, or else
# fuzz/<prefix>.dict for the part of the name before the first '_'
# (fuzz/h1.dict for h1_*_fuzz), is passed when present. Crashing inputs are
# written to fuzz/corpus-work/<name>-crash-*; the log is
# fuzz/corpus-work/<name>.log. Exits non-zero if any target crashed, leaked,
# hung (-timeout) or ran out of memory, or if there was no target to run.
set -euo pipefail

if [ $# -ne 2 ]; then
    sed -n '4p' "$0" | sed 's/^# *//' >&2
    exit 2
fi
build=$1
seconds=$2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work="$root/fuzz/corpus-work"
mkdir -p "$work"

shopt -s nullglob
targets=("$build"/*_fuzz)
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz.sh: no *_fuzz executables in $build (build the fuzz preset first)" >&2
    exit 1
fi

failed=()
for bin in "${targets[@]}"; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    corpus="$work/$name"
    rm -rf "$corpus"
    mkdir -p "$corpus"
    if [ -d "$root/fuzz/corpus/$name" ]; then
        cp -R "$root/fuzz/corpus/$name/." "$corpus/"
    fi
    args=(-max_total_time="$seconds" -timeout=30 -print_final_stats=1
          -artifact_prefix="$work/$name-")
    for dict in "$root/fuzz/$name.dict" "$root/fuzz/${name%%_*}.dict"; do
        if [ -f "$dict" ]; then
            args+=(-dict="$dict")
            break
        fi
    done
    log="$work/$name.log"
    if "$bin" "${args[@]}" "$corpus" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        echo "fuzz: $name ok (${runs:-?} inputs in ${seconds}s)"
    else
        echo "fuzz: $name FAILED (log: $log)" >&2
        tail -n 40 "$log" >&2
        failed+=("$name")
    fi
done

if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz: failing targets: ${failed[*]}" >&2
    exit 1
fi
