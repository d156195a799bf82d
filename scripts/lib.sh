# Shared by the scripts in this directory; source it, do not run it.
#
# The repository's modules are those of go.work. Each nested module requires
# the others at the release version held in VERSION; go.work replaces those
# versions by the directories, so development builds in workspace mode.

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$PATH:/usr/local/go/bin"
MODPREFIX=github.com/backplane-go/backplane

# version prints the version in VERSION.
version() { tr -d ' \t\r\n' <"$ROOT/VERSION"; }

# modules prints "path<TAB>dir" for every module of the workspace, dir
# relative to the root ("." for the root module).
modules() {
	(cd "$ROOT" && GOWORK="$ROOT/go.work" go list -m -f '{{.Path}}	{{.Dir}}') |
		while IFS=$'\t' read -r path dir; do
			rel=${dir#"$ROOT"}; rel=${rel#/}
			printf '%s\t%s\n' "$path" "${rel:-.}"
		done
}

# tagprefix DIR prints the tag prefix of the module in DIR ("" or "cluster/").
tagprefix() { if [ "$1" = . ]; then echo ""; else echo "$1/"; fi; }

# build_tools DIR builds the pinned tools of internal/tools/go.mod into DIR.
build_tools() {
	mkdir -p "$1"
	(cd "$ROOT/internal/tools" && GOWORK=off go build -o "$1/" \
		./cmd/modproxy \
		honnef.co/go/tools/cmd/staticcheck \
		golang.org/x/vuln/cmd/govulncheck \
		golang.org/x/exp/cmd/apidiff)
}

# build_proxy BIN OUT [TREE] writes a file-based module proxy of every module
# of TREE (default: this repository) at its VERSION into OUT.
build_proxy() {
	"$1/modproxy" -repo "${3:-$ROOT}" -o "$2" >/dev/null
}

# offline_env PROXY exports what a consumer's build uses: no workspace,
# modules of this repository from the file proxy PROXY, no checksum database
# for them. The module cache is one of its own (BP_MODCACHE, default
# ~/.cache/backplane-modcache), fed from the machine's cache before the
# network: its copies of this repository's modules are removed first (and the
# go command's index of the module cache is off), so that a module rebuilt at
# the same version is never served stale, and its path
# stays the same from run to run, so that the build cache still serves the
# other dependencies.
offline_env() {
	local shared cache
	shared=$(go env GOMODCACHE)
	cache=${BP_MODCACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/backplane-modcache}
	mkdir -p "$cache"
	chmod -R u+w "$cache/github.com/backplane-go" "$cache/cache/download/github.com/backplane-go" 2>/dev/null || true
	rm -rf "$cache/github.com/backplane-go" "$cache/cache/download/github.com/backplane-go"
	export GOWORK=off
	export GOPROXY="file://$1,file://$shared/cache/download,https://proxy.golang.org"
	export GONOSUMDB=github.com/backplane-go
	export GOMODCACHE="$cache"
	export GOFLAGS="-mod=mod -modcacherw ${GOFLAGS:-}"
	# The go command indexes the packages of the module cache once, trusting
	# a module version never to change: ours does, so no index.
	export GODEBUG="goindex=0${GODEBUG:+,$GODEBUG}"
	# "go: downloading" lines for every module would bury the results.
	exec 2> >(grep --line-buffered -v '^go: downloading ' >&2)
}

# copy_tree DEST copies the files git tracks (as they are in the working
# tree) into DEST: what the file proxy publishes.
copy_tree() {
	mkdir -p "$1"
	(cd "$ROOT" && git ls-files -z --cached |
		while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done |
		tar --null -cf - -T -) | tar -xf - -C "$1"
}

# with_tmp makes TMP, a temporary directory removed at exit (module caches
# made with -modcacherw included).
with_tmp() {
	TMP=$(mktemp -d)
	trap 'chmod -R u+w "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
}

# tools_and_proxy sets BIN (the pinned tools) and PROXY (the file proxy of
# this repository at VERSION): those .ci/run made once and exported, or new
# ones in TMP.
tools_and_proxy() {
	if [ -z "${BP_BIN:-}" ]; then
		BP_BIN="$TMP/bin"
		build_tools "$BP_BIN"
	fi
	if [ -z "${BP_PROXY:-}" ]; then
		BP_PROXY="$TMP/proxy"
		build_proxy "$BP_BIN" "$BP_PROXY"
	fi
	BIN=$BP_BIN PROXY=$BP_PROXY
}
