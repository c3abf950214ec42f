#!/usr/bin/env bash
# Builds Aviary's release artefacts into dist/ (gitignored), with the version from Cargo and a
# SHA256SUMS list:
#   linux   aviary_<v>-1_amd64.deb (cargo-deb) and aviary-<v>-linux-x86_64.tar.gz
#   windows aviary-<v>-windows-x86_64.zip (portable) and aviary-<v>-windows-x86_64-setup.exe
#           (NSIS: Start-menu entry, uninstaller, .plan/.tlog file types), MinGW-w64 cross-build
#   macos   Aviary.app for x86_64 and aarch64 (cargo-zigbuild, zig as C compiler and linker) as
#           aviary-<v>-macos-<arch>.app.tar.gz when SDKROOT names a macOS SDK, else the checked
#           bundle layout without its executable; unsigned (signing, notarisation and the .dmg
#           need a Mac, see README)
#
# Usage: scripts/package.sh [linux|windows|macos|all]   (default: all)
# Environment: CARGO_TARGET_DIR (Linux builds, default /var/tmp/aviary-ci-target),
# AVIARY_CROSS_TARGET_DIR (Windows and macOS builds, default /var/tmp/aviary-cross-target),
# AVIARY_PACKAGE_PROFILE (cargo profile, default release), AVIARY_PYTOOLS (a virtualenv that
# holds ziglang and cargo-zigbuild, default /var/tmp/aviary-pytools; created when missing).
# Tools: cargo-deb (cargo install cargo-deb --locked), gcc-mingw-w64-x86-64, nsis, zip,
# imagemagick (apt), python3-venv for the macOS tools. Shipped binaries are stripped (the
# symbols stay in the target dir).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

what=${1:-all}
case "$what" in
  linux | windows | macos | all) ;;
  *)
    echo "usage: scripts/package.sh [linux|windows|macos|all]" >&2
    exit 2
    ;;
esac

host_target=${CARGO_TARGET_DIR:-/var/tmp/aviary-ci-target}
cross_target=${AVIARY_CROSS_TARGET_DIR:-/var/tmp/aviary-cross-target}
profile=${AVIARY_PACKAGE_PROFILE:-release}
profile_dir=$profile
[ "$profile" = dev ] && profile_dir=debug
pytools=${AVIARY_PYTOOLS:-/var/tmp/aviary-pytools}

version=$(cargo metadata --no-deps --format-version 1 --locked |
  python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="aviary-app"))')
dist=$repo/dist
mkdir -p "$dist"
work=$(mktemp -d /var/tmp/aviary-package.XXXXXX)
trap 'rm -rf "$work"' EXIT

need() {
  command -v "$1" >/dev/null || {
    echo "package.sh: $1 is missing ($2)" >&2
    exit 1
  }
}
say() { echo "== package.sh: $*"; }

# Writes the install notes shipped inside the zip and the tarball.
install_notes() {
  cat <<EOF
Aviary $version - mission control for drone fleets

aviary          the desktop app (run without arguments) and the command line
                (aviary plan, sim, fly, report, bench, weather; aviary --help)
aviary-server   the optional fleet server (aviary-server --help)

Data: the local store is created on first start in the OS data directory
(%APPDATA%\\Aviary\\Aviary\\data on Windows, ~/.local/share/aviary on Linux).
Licence: MIT OR Apache-2.0.
EOF
}

# --- Linux: the .deb (cargo-deb) and a .tar.gz of the binaries.
package_linux() {
  need cargo-deb "cargo install cargo-deb --locked"
  say "Linux x86_64 ($profile)"
  CARGO_TARGET_DIR=$host_target cargo build --locked --profile "$profile" -p aviary-app \
    -p aviary-server --bins
  local bin=$host_target/$profile_dir
  CARGO_TARGET_DIR=$host_target cargo deb --locked --no-build --profile "$profile" -p aviary-app \
    --strip --output "$dist/aviary_${version}-1_amd64.deb"

  local name=aviary-$version-linux-x86_64
  local root=$work/$name
  mkdir -p "$root/share/applications" "$root/share/mime/packages" "$root/share/icons/hicolor/256x256/apps"
  cp "$bin/aviary" "$bin/aviary-server" "$root/"
  strip "$root/aviary" "$root/aviary-server"
  cp packaging/linux/aviary.desktop "$root/share/applications/"
  cp packaging/linux/aviary-mime.xml "$root/share/mime/packages/aviary.xml"
  cp packaging/icons/aviary-256.png "$root/share/icons/hicolor/256x256/apps/aviary.png"
  install_notes >"$root/README.txt"
  tar -C "$work" -czf "$dist/$name.tar.gz" "$name"
}

# --- Windows: MinGW-w64 cross-build, portable zip and NSIS installer.
package_windows() {
  need x86_64-w64-mingw32-gcc "apt-get install gcc-mingw-w64-x86-64"
  need makensis "apt-get install nsis"
  need zip "apt-get install zip"
  need convert "apt-get install imagemagick"
  say "Windows x86_64 ($profile)"
  CARGO_TARGET_DIR=$cross_target cargo build --locked --profile "$profile" \
    --target x86_64-pc-windows-gnu -p aviary-app -p aviary-server --bins
  local bin=$cross_target/x86_64-pc-windows-gnu/$profile_dir
  local name=aviary-$version-windows-x86_64
  local stage=$work/$name
  mkdir -p "$stage"
  cp "$bin/aviary.exe" "$bin/aviary-server.exe" "$stage/"
  x86_64-w64-mingw32-strip "$stage/aviary.exe" "$stage/aviary-server.exe"
  convert -background none packaging/icons/aviary.svg -define icon:auto-resize=256,64,48,32,16 \
    "$stage/aviary.ico"
  install_notes | sed 's/$/\r/' >"$stage/README.txt"
  printf 'Aviary is licensed under the MIT licence or the Apache License 2.0, at your option.\r\n' \
    >"$stage/LICENSE.txt"
  (cd "$work" && zip -qr -X "$dist/$name.zip" "$name")
  makensis -V2 -DVERSION="$version" -DSTAGE="$stage" -DOUTFILE="$dist/$name-setup.exe" \
    packaging/windows/aviary.nsi
}

# Writes a .icns (PNG entries ic07/ic08/ic09: 128, 256, 512 px) from the SVG.
make_icns() {
  local out=$1
  for px in 128 256 512; do
    convert -background none packaging/icons/aviary.svg -resize "${px}x${px}" -depth 8 \
      "PNG32:$work/icon-$px.png"
  done
  python3 - "$work" "$out" <<'EOF'
import struct, sys
work, out = sys.argv[1], sys.argv[2]
chunks = b""
for kind, px in ((b"ic07", 128), (b"ic08", 256), (b"ic09", 512)):
    data = open(f"{work}/icon-{px}.png", "rb").read()
    chunks += kind + struct.pack(">I", len(data) + 8) + data
open(out, "wb").write(b"icns" + struct.pack(">I", len(chunks) + 8) + chunks)
EOF
}

# --- macOS: cargo-zigbuild for both architectures, the .app bundle around each binary.
# Zig compiles and links Rust and C for macOS, but the GUI links Apple's frameworks (AppKit,
# Metal, OpenGL, CoreText...), which only the macOS SDK has: with SDKROOT naming a MacOSX.sdk
# (copied from Xcode) the binary is linked into Aviary.app; without it every crate is checked
# for the target (cargo-zigbuild check) and the bundle is written without its executable
# (aviary-<v>-macos-<arch>.app-layout.tar.gz), to be completed on a Mac.
package_macos() {
  need convert "apt-get install imagemagick"
  if [ ! -x "$pytools/bin/cargo-zigbuild" ]; then
    python3 -m venv "$pytools"
    "$pytools/bin/pip" install --quiet ziglang cargo-zigbuild
  fi
  rustup target add x86_64-apple-darwin aarch64-apple-darwin >/dev/null
  local arch target suffix
  for arch in x86_64 aarch64; do
    target=$arch-apple-darwin
    local app=$work/macos-$arch/Aviary.app
    mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
    if [ -n "${SDKROOT:-}" ]; then
      say "macOS $arch ($profile, linked against $SDKROOT)"
      PATH=$pytools/bin:$PATH CARGO_TARGET_DIR=$cross_target "$pytools/bin/cargo-zigbuild" zigbuild \
        --locked --profile "$profile" --target "$target" -p aviary-app --bin aviary
      cp "$cross_target/$target/$profile_dir/aviary" "$app/Contents/MacOS/aviary"
      suffix=app
    else
      say "macOS $arch: no SDKROOT, checking the workspace and writing the bundle layout"
      PATH=$pytools/bin:$PATH CARGO_TARGET_DIR=$cross_target "$pytools/bin/cargo-zigbuild" check \
        --locked --workspace --target "$target"
      suffix=app-layout
    fi
    sed "s/@VERSION@/$version/g" packaging/macos/Info.plist.in >"$app/Contents/Info.plist"
    printf 'APPL????' >"$app/Contents/PkgInfo"
    make_icns "$app/Contents/Resources/aviary.icns"
    tar -C "$work/macos-$arch" -czf "$dist/aviary-$version-macos-$arch.$suffix.tar.gz" Aviary.app
  done
}

case "$what" in
  linux) package_linux ;;
  windows) package_windows ;;
  macos) package_macos ;;
  all)
    package_linux
    package_windows
    package_macos
    ;;
esac

(cd "$dist" && rm -f SHA256SUMS && sha256sum -- *.deb *.tar.gz *.zip *.exe 2>/dev/null >SHA256SUMS || true)
say "artefacts in $dist:"
(cd "$dist" && ls -l --time-style=+ -- * | awk '{print "   " $5 "  " $NF}')
