#!/usr/bin/env bash
# ansible-lint (Debian's) over the collection, with the collection itself on the collections path so the linter
# resolves s2sgw.gateway.* and checks their options.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/ansible_collections/s2sgw"
ln -s "$here" "$tmp/ansible_collections/s2sgw/gateway"
cd "$here"
ANSIBLE_COLLECTIONS_PATH="$tmp" exec ansible-lint "$@"
