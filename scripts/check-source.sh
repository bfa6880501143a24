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
# The database's files are SQLite's alone (docs/log.md, "Crash guarantee"): closing any
# descriptor of a file drops the process's POSIX locks on it, SQLite's included, and the
# next process to close the database then deletes the live WAL (issue 23). So the layers
# that hold the database open make no file-descriptor calls of their own, except on lines
# that say why it is safe ("fd-ok:").
if grep -nE '\b(open|close|fsync|fdatasync|sync_file_range|flock|fcntl|lockf)\s*\(' \
     $(git ls-files 'src/store/*.c' 'src/service/*.c') | grep -v 'fd-ok:' | grep -vE '^[^:]+:[0-9]+:\s*(/?\*|//)'; then
  echo "check-source: a file-descriptor call above in a layer that holds the database open; go through SQLite, or say why it is safe with fd-ok:" >&2
  exit 1
fi
# Functional core, imperative shell (docs/architecture.md): the pure core includes nothing
# from the shell around it (storage, services, HTTP, the API, the CLI, the web pages) and
# no database library.
if grep -nE '#include ("(store|service|http|api|cli|web)/|<sqlite3\.h>|<libpq)' \
     $(git ls-files 'src/core/*' 'src/model/*' 'src/fhir/*' 'src/policy/*' 'src/stats/*' 'src/log/*'); then
  echo "check-source: the core includes the shell above (move the type into model/)" >&2
  exit 1
fi
echo "check-source: format and banned-call checks passed"
