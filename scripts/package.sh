#!/usr/bin/env bash
# `npm run package`: builds the Debian package dist/pkg/s2sgw_<version>_<arch>.deb (docs/packaging.md):
# the single executable (scripts/bundle.js), the man page and bash completion (scripts/package-docs.js), the
# systemd units, logrotate file, schemas and folders from packaging/, then dpkg-deb.
# S2SGW_PACKAGE_QUICK=1 (the package test): dist/ is already compiled, and gzip -1 instead of xz (a release's
# 22 MB instead of ~30, but seconds instead of minutes for an 88 MB executable).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=${S2SGW_PACKAGE_QUICK:-0}
[ "$quick" = 1 ] || npx tsc -p tsconfig.json
rm -rf dist/pkg
build=dist/pkg/build
stage=dist/pkg/root
node scripts/bundle.js "$build"
node scripts/package-docs.js "$build"

# An npm version (1.2.0-rc.1) as a Debian version (1.2.0~rc.1, sorting before 1.2.0).
version=$(node -p "require('./package.json').version.replace(/-/g, '~')")
arch=$(dpkg --print-architecture)
maintainer=${S2SGW_MAINTAINER:-s2sgw maintainers <s2sgw@users.noreply.github.com>}
# Reproducible: file dates and the changelog's date come from the last commit.
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH=$epoch

# The units whose command this build has (another branch may add `recover` or `metrics` later).
has() { "$build/s2sgw" "$1" --help >/dev/null 2>&1; }
units=(s2sgw-confirm.service)
enable=()
start=()
if has recover; then units+=(s2sgw-recover.service); enable+=(s2sgw-recover.service); else echo "package: no \`recover\` command in this build: s2sgw-recover.service left out" >&2; fi
if has metrics; then units+=(s2sgw-metrics.service s2sgw-metrics.timer); enable+=(s2sgw-metrics.timer); start+=(s2sgw-metrics.timer); else echo "package: no \`metrics\` command in this build: s2sgw-metrics.timer left out" >&2; fi

fill() { sed -e "s|@VERSION@|$version|g" -e "s|@ARCH@|$arch|g" -e "s|@MAINTAINER@|$maintainer|g" -e "s|@ENABLE@|${enable[*]}|g" -e "s|@START@|${start[*]}|g" -e "s|@DATE@|$(date -u -R -d "@$epoch")|g" "$@"; }

# The executable under /usr/lib/s2sgw; /usr/bin/s2sgw is the wrapper that sets GLIBC_TUNABLES for it (packaging/s2sgw.sh).
install -D -m 0755 "$build/s2sgw" "$stage/usr/lib/s2sgw/s2sgw"
install -D -m 0755 packaging/s2sgw.sh "$stage/usr/bin/s2sgw"
for u in "${units[@]}"; do install -D -m 0644 "packaging/$u" "$stage/lib/systemd/system/$u"; done
install -d -m 0755 "$stage/usr/share/s2sgw/schema"
install -m 0644 schema/*.schema.json "$stage/usr/share/s2sgw/schema/"
install -D -m 0644 "$build/s2sgw.bash" "$stage/usr/share/bash-completion/completions/s2sgw"
install -d -m 0755 "$stage/usr/share/man/man1"
gzip -9n < "$build/s2sgw.1" > "$stage/usr/share/man/man1/s2sgw.1.gz"
install -d -m 0755 "$stage/usr/share/doc/s2sgw"
fill packaging/changelog | gzip -9n > "$stage/usr/share/doc/s2sgw/changelog.gz"
install -m 0644 packaging/copyright "$stage/usr/share/doc/s2sgw/copyright"
# The licence text of the Node.js runtime inside the executable (and of the libraries it includes).
gzip -9n < "$(dirname "$(readlink -f "$(command -v node)")")/../share/doc/nodejs/LICENSE" > "$stage/usr/share/doc/s2sgw/nodejs-LICENSE.gz"
install -D -m 0644 packaging/logrotate "$stage/etc/logrotate.d/s2sgw"
install -D -m 0644 packaging/strongswan-start.conf "$stage/etc/strongswan.d/s2sgw-start.conf"
# The folders apply uses, with the modes it creates them with (src/apply: state 0700; secrets 0700).
install -d -m 0755 "$stage/etc/s2sgw"
install -d -m 0700 "$stage/etc/s2sgw/secrets" "$stage/var/lib/s2sgw"
install -d -m 0750 "$stage/var/log/s2sgw"
install -d -m 0755 "$stage/usr/share/lintian/overrides"
install -m 0644 packaging/lintian-overrides "$stage/usr/share/lintian/overrides/s2sgw"

install -d -m 0755 "$stage/DEBIAN"
for s in postinst prerm postrm; do fill "packaging/$s" > "$stage/DEBIAN/$s"; chmod 0755 "$stage/DEBIAN/$s"; done
printf '%s\n' /etc/logrotate.d/s2sgw /etc/strongswan.d/s2sgw-start.conf > "$stage/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
fill packaging/control | sed "s|@SIZE@|$size|" > "$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort | xargs md5sum > DEBIAN/md5sums)
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"
find "$stage" -exec touch -h -d "@$epoch" {} +

deb="dist/pkg/s2sgw_${version}_${arch}.deb"
if [ "$quick" = 1 ]; then compress=(-Zgzip -z1); else compress=(-Zxz); fi
dpkg-deb --build --root-owner-group "${compress[@]}" "$stage" "$deb" >/dev/null
echo "package: $deb ($(du -h "$deb" | cut -f1))"
