#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang and runs each for a short time
# (FUZZ_SECONDS, default 20) from its committed corpus fuzz/corpus/<target>/.
# Skipped with a message when clang is not present.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-20}
if ! command -v clang >/dev/null; then
  echo "fuzz: clang not found, skipping fuzz runs"; exit 0
fi
ls fuzz/fuzz_*.c >/dev/null 2>&1 || { echo "fuzz: no targets"; exit 0; }
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOB_FUZZ=ON >/dev/null
cmake --build build-fuzz -j2 >/dev/null
mkdir -p build-fuzz/artifacts
for src in fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  corpus="fuzz/corpus/${name#fuzz_}"
  work="build-fuzz/corpus-${name#fuzz_}"
  mkdir -p "$corpus" "$work"
  dict=""
  [ -f "fuzz/${name#fuzz_}.dict" ] && dict="-dict=fuzz/${name#fuzz_}.dict"
  echo "fuzz: $name for ${secs}s"
  "build-fuzz/$name" -max_total_time="$secs" -max_len=4096 -timeout=10 $dict \
     -artifact_prefix=build-fuzz/artifacts/ "$work" "$corpus" >build-fuzz/$name.log 2>&1 || {
    tail -40 "build-fuzz/$name.log"; echo "fuzz: $name found a crash" >&2; exit 1; }
  grep -E '^#[0-9]+.*DONE' "build-fuzz/$name.log" | tail -1 || true
done
echo "fuzz: all targets ran clean"
