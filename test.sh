#!/usr/bin/env bash
# Runs every test of every module in this repository (the modules of
# go.work) with the race detector, in workspace mode.
# Usage: ./test.sh [extra go test flags]
set -euo pipefail
cd "$(dirname "$0")"
status=0
for dir in $(go list -m -f '{{.Dir}}'); do
	echo "== go test -race .${dir#"$PWD"}/..."
	(cd "$dir" && go test -race -count=1 "$@" ./...) || status=1
done
exit $status
