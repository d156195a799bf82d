#!/usr/bin/env bash
# Runs every test of every module in this repository with the race detector.
# Usage: ./test.sh [extra go test flags]
set -euo pipefail
cd "$(dirname "$0")"
status=0
for mod in $(git ls-files '*go.mod' 2>/dev/null || find . -name go.mod); do
	dir=$(dirname "$mod")
	echo "== go test -race $dir/..."
	(cd "$dir" && go test -race -count=1 "$@" ./...) || status=1
done
exit $status
