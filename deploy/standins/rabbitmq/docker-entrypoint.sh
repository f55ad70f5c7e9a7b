#!/bin/bash
# What the official rabbitmq image's entrypoint does, as far as docker-compose.yml relies on
# it: the default user from RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS (created on the
# first boot, on an empty data folder), and one Erlang cookie, kept in the data volume. The
# healthcheck runs `rabbitmq-diagnostics` as root; Debian's wrapper then runs it as the
# rabbitmq user with that user's home, the data volume, so it reads the server's cookie.
set -euo pipefail
: "${RABBITMQ_DEFAULT_USER:?RABBITMQ_DEFAULT_USER must be set}"
: "${RABBITMQ_DEFAULT_PASS:?RABBITMQ_DEFAULT_PASS must be set (there is no default)}"

cookie=/var/lib/rabbitmq/.erlang.cookie
if [ ! -s "$cookie" ]; then
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$cookie"
fi
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
chmod 400 "$cookie"

cat > /etc/rabbitmq/rabbitmq.conf <<CONF
default_user = $RABBITMQ_DEFAULT_USER
default_pass = $RABBITMQ_DEFAULT_PASS
CONF
chown rabbitmq:rabbitmq /etc/rabbitmq/rabbitmq.conf
chmod 600 /etc/rabbitmq/rabbitmq.conf

if [ "${1:-}" = rabbitmq-server ]; then
  exec setpriv --reuid rabbitmq --regid rabbitmq --init-groups \
       /usr/lib/rabbitmq/bin/rabbitmq-server
fi
exec "$@"
