#!/usr/bin/env bash
# Builds the system packages from this checkout, on Debian 12 (amd64), as root:
#   out/imds-analyzer_<version>_amd64.deb        (debian/, debhelper)
#   out/imds-analyzer-<version>-1.x86_64.rpm     (packaging/imds-analyzer.spec, rpmbuild)
# and checks them (lintian, rpmlint, systemd-analyze); reports land in out/checks/.
#
# Both packages are made from one staged tree, built in out/build/ (never in the working
# tree, whose node_modules other work may be using):
#   /usr/lib/imds-analyzer/{node,package.json,dist/src,node_modules}  app + private Node.js
#   /usr/bin/imds-analyzer                                            shell wrapper
#   /etc/imds-analyzer/imds-analyzer.conf, /etc/logrotate.d/imds-analyzer
#   /usr/share/man/man8/imds-analyzer.8, /usr/share/bash-completion/completions/imds-analyzer
#
# Environment: NODE_BIN (runtime to ship, default: the node on PATH), OUT (default ./out),
# SKIP_CHECKS=1 (no lintian/rpmlint/systemd-analyze), PACKAGE_IGNORE_TYPE_ERRORS=1 (see tsc below).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$ROOT/out}
WORK=$OUT/build
NODE_BIN=${NODE_BIN:-$(command -v node || true)}
START=$SECONDS

log() { printf 'package.sh [%3ds] %s\n' "$((SECONDS - START))" "$*" >&2; }
die() {
	printf 'package.sh: %s\n' "$*" >&2
	exit 2
}

# --- tools ----------------------------------------------------------------------------------
# Debian packages this script uses; installed when missing (root), else a clear error.
BUILD_PACKAGES=(debhelper dpkg-dev fakeroot rpm lintian rpmlint patchelf libpcap-dev g++ make
	python3 binutils systemd man-db)
missing=()
for p in "${BUILD_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || die "missing Debian packages (run as root to install them): ${missing[*]}"
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
		{ apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
fi
if [ -z "$NODE_BIN" ] || [ ! -x "$NODE_BIN" ]; then die "no Node.js runtime found (set NODE_BIN)"; fi
NODE_BIN=$(readlink -f "$NODE_BIN")
"$NODE_BIN" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
	die "$NODE_BIN is older than Node.js 20"
# node-gyp compiles cap against these headers; they must match the runtime we ship.
NODEDIR=${npm_config_nodedir:-$(dirname "$(dirname "$NODE_BIN")")}
[ -f "$NODEDIR/include/node/node.h" ] || die "no Node.js headers in $NODEDIR/include/node (set npm_config_nodedir)"
export npm_config_nodedir=$NODEDIR
PATH="$(dirname "$NODE_BIN"):$PATH"
export PATH

VERSION=$(cd "$ROOT" && "$NODE_BIN" -p 'require("./package.json").version')
DEB=$OUT/imds-analyzer_${VERSION}_amd64.deb
RPM=$OUT/imds-analyzer-${VERSION}-1.x86_64.rpm
log "imds-analyzer $VERSION, runtime $NODE_BIN ($("$NODE_BIN" --version))"

rm -rf "$WORK" "$DEB" "$RPM" "$OUT/checks"
mkdir -p "$WORK/src" "$OUT/checks"

# --- source: the checkout's files (tracked and new, not ignored) ------------------------------
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
		tar --null --ignore-failed-read -cf - -T - 2>/dev/null) | tar -xf - -C "$WORK/src"
else
	(cd "$ROOT" && tar --exclude=./node_modules --exclude=./out --exclude=./dist -cf - .) |
		tar -xf - -C "$WORK/src"
fi

# --- build: TypeScript to dist/src (dev dependencies only for the compiler) ------------------
log "npm ci (build tools)"
(cd "$WORK/src" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null)
log "tsc"
# tsc emits even with type errors; PACKAGE_IGNORE_TYPE_ERRORS=1 packages such a tree anyway
# (for packaging work while src/ is mid-change), never use it for a release.
(cd "$WORK/src" && ./node_modules/.bin/tsc -p packaging/tsconfig.build.json) ||
	[ "${PACKAGE_IGNORE_TYPE_ERRORS:-0}" = 1 ] || die "tsc failed"
[ -f "$WORK/src/dist/src/cli/main.js" ] || die "build produced no dist/src/cli/main.js"

# --- stage -----------------------------------------------------------------------------------
STAGE=$WORK/stage
APP=$STAGE/usr/lib/imds-analyzer
mkdir -p "$APP/dist"
cp "$WORK/src/package.json" "$WORK/src/package-lock.json" "$APP/"
cp -a "$WORK/src/dist/src" "$APP/dist/src"
log "npm ci --omit=dev (production dependencies, cap built for the shipped runtime)"
# Hardening flags as Debian builds its own (fortify, full RELRO).
(cd "$APP" && CXXFLAGS="-include $WORK/src/packaging/glibc-compat.h -D_FORTIFY_SOURCE=2" \
	LDFLAGS="-Wl,-z,relro -Wl,-z,now" \
	npm ci --omit=dev --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null)
rm -f "$APP/package-lock.json" "$APP/node_modules/.package-lock.json"
# Only the addon itself of cap's build; no sources, Windows libraries or build-time headers.
CAP=$APP/node_modules/cap
[ -f "$CAP/build/Release/cap.node" ] || die "cap's native addon was not built"
mv "$CAP/build/Release/cap.node" "$WORK/cap.node"
rm -rf "$CAP/build" "$CAP/deps" "$CAP/src" "$CAP/test" "$CAP/binding.gyp" "$CAP/appveyor.yml" "$APP/node_modules/nan"
mkdir -p "$CAP/build/Release"
mv "$WORK/cap.node" "$CAP/build/Release/cap.node"
strip --strip-unneeded "$CAP/build/Release/cap.node"
# netlink ships prebuilt addons for four architectures: keep this one's (dh_strip and rpm's
# checks reject foreign binaries), no sources; node-addon-api and @types/node only build it.
NL=$APP/node_modules/netlink
NL_ARCH=linux-$("$NODE_BIN" -p process.arch)
[ -f "$NL/prebuilds/$NL_ARCH/node.napi.node" ] || die "netlink has no prebuilt addon for $NL_ARCH"
find "$NL/prebuilds" -mindepth 1 -maxdepth 1 ! -name "$NL_ARCH" -exec rm -rf {} +
rm -rf "$NL/src" "$NL/binding.gyp" "$NL/node_modules/@types" "$APP/node_modules/node-addon-api" \
	"$APP/node_modules/@types"
strip --strip-unneeded "$NL/prebuilds/$NL_ARCH/node.napi.node"
# Documentation, tests and type declarations of dependencies are not needed at run time
# (license files stay).
find "$APP/node_modules" \( -name '*.md' ! -iname 'license*' -o -name '*.d.ts' -o -name '*.d.mts' \
	-o -name '*.d.cts' -o -name '*.map' -o -name '.npmignore' -o -name '.eslintrc*' \
	-o -name '.travis.yml' -o -name '.editorconfig' -o -name '*.tsbuildinfo' -o -name '.gitattributes' \
	-o -name '.babelrc' -o -name '.nycrc*' \) -type f -delete
find "$APP/node_modules" -depth -type d \( -name test -o -name tests -o -name .github -o -name example \
	-o -name examples -o -name docs -o -name .nyc_output -o -name .bin \) -exec rm -rf {} +
# Nothing in node_modules is run directly: no executable bits (lintian, rpm's dependency
# generator would otherwise turn #!/usr/bin/env node lines into requirements).
find "$APP/node_modules" -type f -perm /111 ! -name '*.node' -exec chmod a-x {} +
# Nor are their '#!/usr/bin/env node' lines right here (that would be the host's node): blank
# them, keeping line numbers.
grep -rlZ --include='*.js' --include='*.mjs' --include='*.cjs' '^#!' "$APP/dist" "$APP/node_modules" |
	xargs -0 -r sed -i '1s/^#!.*$//'
find "$APP" -type d -exec chmod 0755 {} +
find "$APP" -type f ! -perm /111 -exec chmod 0644 {} +

install -m 0755 "$NODE_BIN" "$APP/node"
strip "$APP/node"
"$APP/node" -e 'process.exit(0)' || die "the stripped runtime does not start"

mkdir -p "$STAGE/usr/bin"
cat >"$STAGE/usr/bin/imds-analyzer" <<'EOF'
#!/bin/sh
# imds-analyzer runs on its own Node.js runtime: no Node.js is needed on the host.
# --no-lazy: compile everything at start-up, so the first IMDS call after it is not slowed by
# compiling the path it takes while a one-shot client's socket lives (bench/attribution.md).
exec /usr/lib/imds-analyzer/node --no-lazy /usr/lib/imds-analyzer/dist/src/cli/main.js "$@"
EOF
chmod 0755 "$STAGE/usr/bin/imds-analyzer"
install -D -m 0644 "$ROOT/packaging/imds-analyzer.conf" "$STAGE/etc/imds-analyzer/imds-analyzer.conf"
install -D -m 0644 "$ROOT/packaging/imds-analyzer.logrotate" "$STAGE/etc/logrotate.d/imds-analyzer"
install -d "$STAGE/usr/share/man/man8"
sed "s/@VERSION@/$VERSION/" "$ROOT/packaging/imds-analyzer.8" >"$STAGE/usr/share/man/man8/imds-analyzer.8"
install -D -m 0644 "$ROOT/packaging/imds-analyzer.bash-completion" \
	"$STAGE/usr/share/bash-completion/completions/imds-analyzer"
NODE_LICENSE=${NODE_LICENSE:-}
for f in /usr/share/doc/nodejs/LICENSE "$(dirname "$(dirname "$NODE_BIN")")/share/doc/node/LICENSE"; do
	[ -n "$NODE_LICENSE" ] || { [ -f "$f" ] && NODE_LICENSE=$f; }
done
[ -n "$NODE_LICENSE" ] || die "Node.js LICENSE file not found (set NODE_LICENSE)"
install -D -m 0644 "$NODE_LICENSE" "$STAGE/usr/share/doc/imds-analyzer/LICENSE.node"

# The staged program must run from the stage with no Node.js on PATH, and find its addon.
got=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin timeout 30 "$APP/node" "$APP/dist/src/cli/main.js" --version) || true
if [ "$got" != "$VERSION" ]; then
	[ "${PACKAGE_IGNORE_TYPE_ERRORS:-0}" = 1 ] || die "staged --version printed '$got', expected '$VERSION'"
	log "WARNING: staged --version printed '$got' (PACKAGE_IGNORE_TYPE_ERRORS=1)"
fi
(cd "$APP" && ./node -e 'require("cap")') || die "cap's addon does not load in the stage"
(cd "$APP" && ./node -e 'new (require("netlink").RawNetlinkSocket)(4).close()') ||
	die "netlink's addon does not load in the stage"
# The addons must not raise the glibc floor above the runtime's (2.28, see glibc-compat.h).
max_glibc() { objdump -T "$1" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1; }
for addon in "$CAP/build/Release/cap.node" "$NL/prebuilds/$NL_ARCH/node.napi.node"; do
	[ "$(printf '%s\nGLIBC_2.28\n' "$(max_glibc "$addon")" | sort -V | tail -1)" = GLIBC_2.28 ] ||
		die "$addon needs $(max_glibc "$addon") (> GLIBC_2.28)"
done
# debian/rules lowers the computed libc6 bound to the runtime's real floor: keep it true.
[ "$(printf '%s\nGLIBC_2.28\n' "$(max_glibc "$APP/node")" | sort -V | tail -1)" = GLIBC_2.28 ] ||
	die "the Node.js runtime needs $(max_glibc "$APP/node"): fix override_dh_shlibdeps in debian/rules"
max_glibcxx=$(objdump -T "$APP/node" | grep -o 'GLIBCXX_[0-9.]*' | sort -uV | tail -1)
[ "$(printf '%s\nGLIBCXX_3.4.21\n' "$max_glibcxx" | sort -V | tail -1)" = GLIBCXX_3.4.21 ] ||
	die "the Node.js runtime needs $max_glibcxx (more than Ubuntu 20.04 has)"
log "staged: $(du -sh "$STAGE" | cut -f1); cap.node needs $(max_glibc "$CAP/build/Release/cap.node"), netlink's addon $(max_glibc "$NL/prebuilds/$NL_ARCH/node.napi.node"), node $(max_glibc "$APP/node")"

# --- .deb ------------------------------------------------------------------------------------
log "dpkg-buildpackage"
DEBSRC=$WORK/deb/imds-analyzer-$VERSION
mkdir -p "$DEBSRC"
cp -a "$ROOT/debian" "$ROOT/systemd" "$DEBSRC/"
cp -al "$STAGE" "$DEBSRC/stage"
if [ "$(cd "$DEBSRC" && dpkg-parsechangelog -SVersion)" != "$VERSION" ]; then
	# package.json is the version's source of truth: add an entry for it.
	{
		printf 'imds-analyzer (%s) unstable; urgency=medium\n\n  * Release %s.\n\n' "$VERSION" "$VERSION"
		printf ' -- %s  %s\n\n' "$(cd "$DEBSRC" && dpkg-parsechangelog -SMaintainer)" "$(date -R)"
		cat "$DEBSRC/debian/changelog"
	} >"$DEBSRC/debian/changelog.new"
	mv "$DEBSRC/debian/changelog.new" "$DEBSRC/debian/changelog"
fi
(cd "$DEBSRC" && dpkg-buildpackage -b -us -uc >"$WORK/deb/build.log" 2>&1) ||
	{ tail -40 "$WORK/deb/build.log" >&2; die "dpkg-buildpackage failed (log: $WORK/deb/build.log)"; }
mv "$WORK/deb/imds-analyzer_${VERSION}_amd64.deb" "$DEB"
depends=$(dpkg-deb -f "$DEB" Depends)
case "$depends" in
*'libc6 (>= 2.28)'*libpcap0.8*) ;;
*) die "unexpected Depends: $depends (expected libc6 (>= 2.28) and libpcap0.8)" ;;
esac
log "Depends: $depends"

# --- .rpm ------------------------------------------------------------------------------------
log "rpmbuild"
mkdir -p "$WORK/rpm"
rpmbuild -bb --target x86_64 \
	--define "_topdir $WORK/rpm" \
	--define "_rpmdir $OUT" \
	--define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
	--define "version $VERSION" \
	--define "stagedir $STAGE" \
	--define "unitfile $ROOT/systemd/imds-analyzer.service" \
	"$ROOT/packaging/imds-analyzer.spec" >"$WORK/rpm/build.log" 2>&1 ||
	{ tail -40 "$WORK/rpm/build.log" >&2; die "rpmbuild failed (log: $WORK/rpm/build.log)"; }
[ -f "$RPM" ] || die "rpmbuild did not produce $RPM"
# The rpm's addon must ask for Amazon Linux/RHEL's libpcap SONAME (the spec's patchelf step).
mkdir -p "$WORK/rpm/x"
(cd "$WORK/rpm/x" && rpm2cpio "$RPM" | cpio -id --quiet ./usr/lib/imds-analyzer/node_modules/cap/build/Release/cap.node)
readelf -d "$WORK/rpm/x/usr/lib/imds-analyzer/node_modules/cap/build/Release/cap.node" |
	grep -q 'NEEDED.*\[libpcap\.so\.1\]' || die "the rpm's cap.node does not link libpcap.so.1"
log "built $(du -h "$DEB" | cut -f1) $DEB"
log "built $(du -h "$RPM" | cut -f1) $RPM"

# --- checks ----------------------------------------------------------------------------------
if [ "${SKIP_CHECKS:-0}" != 1 ]; then
	log "lintian"
	lintian --fail-on error,warning --info --display-info --pedantic "$DEB" >"$OUT/checks/lintian.txt" 2>&1 ||
		{ cat "$OUT/checks/lintian.txt" >&2; die "lintian reported errors"; }
	log "rpmlint"
	rpmlint --strict -c "$ROOT/packaging/rpmlint.toml" "$RPM" >"$OUT/checks/rpmlint.txt" 2>&1 ||
		{ cat "$OUT/checks/rpmlint.txt" >&2; die "rpmlint reported errors"; }
	log "systemd-analyze"
	# Syntax and semantics here; the full check (ExecStart= present, man page found) runs in
	# test/packaging/install.test.ts once the package is installed.
	systemd-analyze verify --man=no "$ROOT/systemd/imds-analyzer.service" >"$OUT/checks/systemd-verify.txt" 2>&1 || true
	if grep -v 'Command /usr/bin/imds-analyzer is not executable' "$OUT/checks/systemd-verify.txt" | grep -q .; then
		cat "$OUT/checks/systemd-verify.txt" >&2
		die "systemd-analyze verify failed"
	fi
	systemd-analyze security --offline=yes "$ROOT/systemd/imds-analyzer.service" \
		>"$OUT/checks/systemd-security.txt" 2>&1 || true
	log "$(grep -o 'Overall exposure level.*' "$OUT/checks/systemd-security.txt")"
	for f in lintian rpmlint; do
		log "$f: $(grep -cE '^[EW]: |: (E|W): ' "$OUT/checks/$f.txt" || true) errors+warnings (out/checks/$f.txt)"
	done
fi
log "done in $((SECONDS - START))s"
