#!/usr/bin/env bash
# Source checks the compiler cannot make: clang-format conformance, and a ban on calls
# that are easy to misuse (sprintf, strcpy, strcat, atoi, gets) in src/.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h' 'bench/*.c' 'fuzz/*.c' 2>/dev/null || true)
if [ -n "$files" ]; then
  clang-format --dry-run -Werror $files
fi
if grep -nE '\b(sprintf|vsprintf|strcpy|strcat|atoi|atol|gets)\s*\(' $(git ls-files 'src/*.c' 'src/*.h') ; then
  echo "check-source: banned call above (use snprintf, memcpy with a length, strtol)" >&2
  exit 1
fi
echo "check-source: format and banned-call checks passed"
