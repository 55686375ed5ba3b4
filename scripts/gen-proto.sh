#!/usr/bin/env bash
# Regenerates the Go code of herder's plugin protocol (sdk/proto/herder/v1).
#
# It installs what it needs itself: protoc from Debian's protobuf-compiler
# package when protoc is missing, and the Go generators at pinned versions into
# .tools/bin (so the generated code does not depend on what happens to be on
# PATH). Run it from anywhere; `make proto` calls it.
set -euo pipefail

PROTOC_GEN_GO_VERSION=v1.36.12      # matches google.golang.org/protobuf in go.mod
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools/bin"
mkdir -p "$tools"

if ! command -v protoc >/dev/null 2>&1; then
	echo "gen-proto: protoc not found; installing Debian's protobuf-compiler" >&2
	sudo=""
	if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq protobuf-compiler >/dev/null
fi

install_tool() { # name module@version
	local name="$1" mod="$2" stamp="$tools/.$1.version"
	if [ -x "$tools/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$mod" ]; then
		return
	fi
	echo "gen-proto: installing $mod" >&2
	GOBIN="$tools" GOFLAGS=-mod=mod go install "$mod"
	echo "$mod" >"$stamp"
}
install_tool protoc-gen-go "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
install_tool protoc-gen-go-grpc "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"

cd "$root/sdk/proto"
PATH="$tools:$PATH" protoc \
	-I . \
	--go_out=. --go_opt=paths=source_relative \
	--go-grpc_out=. --go-grpc_opt=paths=source_relative \
	herder/v1/*.proto
echo "gen-proto: regenerated $(ls herder/v1/*.pb.go | wc -l) files in sdk/proto/herder/v1" >&2
