#!/usr/bin/env bash
# Checks the documents against the project's rules; scripts/test.sh runs it after the build.
#   scripts/check_docs.sh [EBM]     EBM: the built ebm tool (default: build/ebm)
# Fails when
#   - docs/config.md differs from what scripts/config_doc.py renders from `EBM schema`;
#   - a file cites development history (a numbered session or issue);
#   - a file holds an absolute path of a machine (under the work, home or root directories).
# The last two look at every file git knows of or would add (not ignored ones), text files only, data files
# (CSV, .npy, JSON lines, archives, IDX images, fuzz corpora) excepted.
set -euo pipefail
cd "$(dirname "$0")/.."
ebm=${1:-build/ebm}
failed=0

if ! python3 scripts/config_doc.py --ebm "$ebm" --check; then
  echo "check_docs: docs/config.md is not what \`$ebm schema\` gives; regenerate it with" >&2
  echo "    python3 scripts/config_doc.py --ebm $ebm" >&2
  failed=1
fi

not_data=(':(exclude,glob)**/*.csv' ':(exclude,glob)**/*.npy' ':(exclude,glob)**/*.jsonl'
          ':(exclude,glob)**/*.gz' ':(exclude,glob)**/*-ubyte' ':(exclude,glob)tests/fuzz/corpus/**')
# The patterns are written so that they do not match themselves.
history='(session|issue) [0-9]'
machine_path='/(work|home|root)/'

# grep_none PATTERN MESSAGE [git grep flags]: fails with MESSAGE when PATTERN occurs (git grep: 0 found, 1 not found).
grep_none() {
  local pattern=$1 message=$2 rc=0
  shift 2
  git grep --untracked -I -n -E "$@" -e "$pattern" -- . "${not_data[@]}" >&2 || rc=$?
  if [ "$rc" = 0 ]; then
    echo "check_docs: $message" >&2
    failed=1
  elif [ "$rc" != 1 ]; then
    echo "check_docs: git grep failed (exit $rc); this check needs a git checkout" >&2
    failed=1
  fi
}
grep_none "$history" "the lines above cite development history; state the fact and its reason instead (history lives in git, measurements in issue notes)" -i
grep_none "$machine_path" "the lines above hold absolute paths of a machine; use paths relative to the repository"

[ "$failed" = 0 ] && echo "check_docs: docs/config.md up to date; no history citations; no machine paths"
exit "$failed"
