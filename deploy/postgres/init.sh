#!/bin/sh
# Create one database per service and variant, the names the native runner uses
# (runner/postgres.py): choreo_orders ... orch_orchestrator. The postgres image runs this
# once, on an empty data volume, from /docker-entrypoint-initdb.d/.
set -eu
for db in choreo_orders choreo_inventory choreo_payments choreo_shipping choreo_notifications \
          orch_orders orch_inventory orch_payments orch_shipping orch_notifications \
          orch_orchestrator; do
  echo "init: creating database $db"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -c "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\""
done
