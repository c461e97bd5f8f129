#!/usr/bin/env bash
# Regenerates the app and tray icons from simple drawing primitives (same shapes as ui/public/logo.svg):
# a teal speech bubble with a white "N". Needs ImageMagick 6 (`convert`) and, for icon.icns,
# png2icns (Debian package icnsutils). Run from anywhere: bash icons/generate.sh
set -euo pipefail
cd "$(dirname "$0")"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Master picture, 1024x1024, transparent background; coordinates are those of the 512 SVG times 2.
convert -size 1024x1024 xc:none \
  -fill '#1f7a8c' \
  -draw 'roundrectangle 96,96 928,768 128,128' \
  -draw 'polygon 256,760 256,944 464,760' \
  -fill '#ffffff' \
  -draw 'polygon 320,640 320,224 420,224 604,480 604,224 704,224 704,640 604,640 420,384 420,640' \
  "PNG32:$tmp/master.png"

png() { # png SIZE OUTPUT
  convert "$tmp/master.png" -filter Lanczos -resize "$1x$1" -strip \
    -define png:compression-level=9 "PNG32:$2"
}

png 32 32x32.png
png 128 128x128.png
png 256 128x128@2x.png
png 512 icon.png
# Tray icon: 64x64 so it stays sharp at 32 px on HiDPI panels.
png 64 tray.png
# Tray icon while a call rings: the same bubble with a large green dot in its corner.
convert "$tmp/master.png" -fill '#2e9e44' -stroke '#ffffff' -strokewidth 40 \
  -draw 'circle 768,768 768,1000' -filter Lanczos -resize 64x64 -strip \
  -define png:compression-level=9 PNG32:tray-ringing.png

# Windows taskbar overlay while messages are unread: a red dot (Windows has no badge count).
convert -size 32x32 xc:none -fill '#d93025' -stroke '#ffffff' -strokewidth 3 \
  -draw 'circle 16,16 16,2' -strip -define png:compression-level=9 PNG32:unread-overlay.png

for size in 16 24 32 48 64 256; do png "$size" "$tmp/ico-$size.png"; done
convert "$tmp"/ico-16.png "$tmp"/ico-24.png "$tmp"/ico-32.png "$tmp"/ico-48.png \
  "$tmp"/ico-64.png "$tmp"/ico-256.png icon.ico

if command -v png2icns >/dev/null; then
  for size in 16 32 128 256 512; do png "$size" "$tmp/icns-$size.png"; done
  png2icns icon.icns "$tmp"/icns-16.png "$tmp"/icns-32.png "$tmp"/icns-128.png \
    "$tmp"/icns-256.png "$tmp"/icns-512.png >/dev/null
else
  echo "png2icns not found (apt-get install icnsutils): icon.icns left as it is" >&2
fi
