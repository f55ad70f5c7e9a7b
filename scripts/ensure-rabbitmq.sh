#!/usr/bin/env bash
# Make sure rabbitmq-server is installed: install it with apt when we are root on Debian or
# Ubuntu, otherwise stop with a message that says how to install it.
set -euo pipefail
if command -v rabbitmq-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
   && grep -qiE '^ID(_LIKE)?=.*(debian|ubuntu)' /etc/os-release; then
  echo "rabbitmq-server is missing: installing it with apt-get ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
  # Debian starts the packaged node as a system service where it can; the runner starts its
  # own node with data under var/, so stop the packaged one if it is running.
  (service rabbitmq-server stop >/dev/null 2>&1 || true)
  exit 0
fi
cat >&2 <<'MSG'
rabbitmq-server is not installed, and this script only installs it as root on Debian or Ubuntu.
Install RabbitMQ 3.x with your package manager (for example `brew install rabbitmq` on macOS),
make sure `rabbitmq-server` is on your PATH, then run the make target again. Or run a broker
yourself and point AMQP_URL at it: the runner uses any broker that already answers there.
MSG
exit 1
