#!/usr/bin/env bash
# Prints the path of the pinned uv (UV_VERSION in deploy/versions.env), installing it first if
# it is missing: into .stack/cache/uv/<version>/ with pip, from PyPI, never by piping a script.
# Only Python 3.11+ and its pip are needed; on Debian or Ubuntu, as root, pip is installed too.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^UV_VERSION=//p' "$repo/deploy/versions.env")

if [ "$(uv --version 2>/dev/null | cut -d' ' -f2)" = "$version" ]; then
    command -v uv
    exit 0
fi
home="${STACK_DIR:-$repo/.stack}/cache/uv/$version"
if [ -x "$home/bin/uv" ]; then
    echo "$home/bin/uv"
    exit 0
fi

say() { echo "deploy/uv.sh: $*" >&2; }
python=$(command -v python3 || true)
if [ -z "$python" ] || ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    say "Python 3.11 or newer is needed as python3 (Debian/Ubuntu: apt-get install python3)"
    exit 1
fi
if ! "$python" -m pip --version >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing pip from the distribution's packages (python3-pip)"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >&2
    else
        say "pip is missing: run 'sudo apt-get install python3-pip' (or your system's equivalent)"
        exit 1
    fi
fi
say "installing uv $version into $home"
# --target installs outside any Python environment, so PEP 668's guard does not apply.
"$python" -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
    --target "$home.partial" "uv==$version" >&2
rm -rf "$home" && mv "$home.partial" "$home"
echo "$home/bin/uv"
