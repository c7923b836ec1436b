#!/usr/bin/env bash
# Prints the path of the pinned Docker Compose v2 (COMPOSE_VERSION in deploy/versions.env), the
# implementation `docker compose` runs on users' machines, building it first if it is missing:
# from the Go module proxy into .stack/cache/compose/<version>/, once (about 4 minutes, 96 MB).
# tests/unit/test_compose.py validates docker-compose.yml with it; no Docker engine is needed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^COMPOSE_VERSION=//p' "$repo/deploy/versions.env")
home="${STACK_DIR:-$repo/.stack}/cache/compose/$version"
if [ -x "$home/docker-compose" ]; then
    echo "$home/docker-compose"
    exit 0
fi

say() { echo "deploy/compose.sh: $*" >&2; }
if ! command -v go >/dev/null; then
    say "Go is needed to build Docker Compose $version: install Go 1.24 or newer (https://go.dev/dl/)"
    exit 1
fi
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
say "building Docker Compose $version into $home (once, about 4 minutes)"
# `go install ...@version` refuses the module because its go.mod has exclude directives; a
# module of our own that requires it builds it with the versions its go.mod pins.
(
    cd "$build"
    go mod init build
    go get "github.com/docker/compose/v2/cmd@$version"
    go build -trimpath -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$version" \
        -o docker-compose github.com/docker/compose/v2/cmd
) >&2
mkdir -p "$home"
mv "$build/docker-compose" "$home/docker-compose.partial"
mv "$home/docker-compose.partial" "$home/docker-compose"
echo "$home/docker-compose"
