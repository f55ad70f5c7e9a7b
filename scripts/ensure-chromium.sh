#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the browser tests: install it with apt when we
# are root on Debian or Ubuntu, otherwise stop with a message that says how to install it.
# (Playwright drives this browser; its own browser download is never used.)
set -euo pipefail
if command -v "${CHROMIUM:-chromium}" >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
   && grep -qiE '^ID(_LIKE)?=.*(debian|ubuntu)' /etc/os-release; then
  echo "chromium is missing: installing it with apt-get ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
cat >&2 <<'MSG'
chromium is not installed, and this script only installs it as root on Debian or Ubuntu.
Install Chromium with your package manager and put it on your PATH as `chromium` (or set
CHROMIUM to its path), then run the make target again.
MSG
exit 1
