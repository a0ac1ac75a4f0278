#!/usr/bin/env bash
# Copies a small set of the page gates' screenshots into docs/screenshots/
# (committed, so a designer sees the look without running anything).
# Every page, as each person, desktop/phone/light/dark, is in
# app/testdata/artifacts/TestPageQuality/ after
#   go test -count=1 -run TestPageQuality ./app
# (gitignored: about 350 files). Run this after that test.
set -euo pipefail
cd "$(dirname "$0")/.."
src=app/testdata/artifacts/TestPageQuality
dst=docs/screenshots
if [ ! -d "$src" ]; then
  echo "no $src: run  go test -count=1 -run TestPageQuality ./app  first" >&2
  exit 1
fi
mkdir -p "$dst"
rm -f "$dst"/*.png
for name in \
  admin-users-desktop admin-users-phone admin-users-desktop-dark \
  admin-console-desktop admin-console-phone-dark \
  admin-user-desktop admin-user-deleted-desktop admin-events-desktop admin-keys-desktop-dark \
  visitor-home-phone visitor-register-errors-desktop visitor-login-locked-desktop \
  member-dashboard-desktop-dark member-settings-errors-phone \
  admin-users-bulk-dry-run-desktop admin-users-bulk-dry-run-phone admin-users-bulk-running-desktop-dark \
  admin-user-banned-phone visitor-login-2fa-errors-phone member-settings-tokens-phone-dark; do
  cp "$src/$name.png" "$dst/$name.png"
done
ls "$dst"
