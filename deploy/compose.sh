#!/usr/bin/env bash
# What the compose Makefile targets run (see docs/deploy.md):
#   deploy/compose.sh images          the app image, and stand-in base images when needed
#   deploy/compose.sh up VARIANT      start a profile detached; return once every container is healthy
#                                     (ORCH_TRANSPORT=amqp with orch: over RabbitMQ, deploy/compose-amqp.yml;
#                                      CLUSTER=3: a three-node broker cluster, deploy/compose-cluster.yml;
#                                      TRACING=jaeger: Jaeger, every service exporting to it)
#   deploy/compose.sh down            remove every container, network and volume of the project
#   deploy/compose.sh amqp-url        the broker's URL on the host, while the compose broker runs
# It uses `docker compose` (v2) when present, else `docker-compose` (1.29), and writes .env
# with random passwords when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
APP_IMAGE=orders-saga-app
STANDIN_BASE=orders-saga-standin-base:bookworm
declare -A OFFICIAL=([PYTHON_IMAGE]=python:3.11.13-slim-bookworm
                     [POSTGRES_IMAGE]=postgres:15-bookworm
                     [RABBITMQ_IMAGE]=rabbitmq:3.13-management
                     [JAEGER_IMAGE]=jaegertracing/all-in-one:1.57)
declare -A STANDIN=([PYTHON_IMAGE]=orders-saga-standin-python:3.11-bookworm
                    [POSTGRES_IMAGE]=orders-saga-standin-postgres:15-bookworm
                    [RABBITMQ_IMAGE]=orders-saga-standin-rabbitmq:3.10-management
                    [JAEGER_IMAGE]=orders-saga-standin-otlp:bookworm)
declare -A FOLDER=([PYTHON_IMAGE]=python [POSTGRES_IMAGE]=postgres [RABBITMQ_IMAGE]=rabbitmq
                   [JAEGER_IMAGE]=otlp)

say() { echo "compose: $*" >&2; }

setting() {  # the value of KEY in .env, or nothing
  [ -f .env ] && sed -n "s/^$1=//p" .env | tail -n 1 || true
}

project() { local name; name=$(setting COMPOSE_PROJECT_NAME); echo "${name:-orders-saga}"; }

# ORCH_TRANSPORT=amqp lays deploy/compose-amqp.yml over the file: the orchestrated variant's
# commands and replies go through the broker (up orch only; down always reads both files).
FILES=(-f docker-compose.yml)

compose() {
  if docker compose version >/dev/null 2>&1; then docker compose "${FILES[@]}" "$@"
  else docker-compose "${FILES[@]}" "$@"; fi
}

choose_files() {  # VARIANT: add the AMQP overlay for `up orch` under ORCH_TRANSPORT=amqp
  case "${ORCH_TRANSPORT:-http}" in
    http) ;;
    amqp) [ "$1" != orch ] || FILES+=(-f deploy/compose-amqp.yml) ;;
    *) say "ORCH_TRANSPORT must be http or amqp"; exit 2 ;;
  esac
  # CLUSTER=3: three broker nodes and quorum queues, for a variant that uses the broker.
  case "${CLUSTER:-1}" in
    1) ;;
    3) if [ "$1" = orch ] && [ "${ORCH_TRANSPORT:-http}" != amqp ]; then
         say "CLUSTER=3 needs a broker: VARIANT=choreo, or VARIANT=orch ORCH_TRANSPORT=amqp"; exit 2
       fi
       FILES+=(-f deploy/compose-cluster.yml)
       [ "$1" != orch ] || FILES+=(-f deploy/compose-cluster-orch.yml) ;;
    *) say "CLUSTER must be 1 or 3"; exit 2 ;;
  esac
  # TRACING=jaeger: Jaeger beside the variant, and every service's spans sent to it over OTLP.
  case "${TRACING:-off}" in
    off) ;;
    jaeger) FILES+=(-f deploy/compose-tracing.yml)
            export OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger:4318 ;;
    *) say "TRACING must be off or jaeger"; exit 2 ;;
  esac
}

ensure_daemon() {
  if ! command -v docker >/dev/null 2>&1; then
    say "Docker is not installed: apt-get install -y docker.io docker-compose (Debian), or see docs.docker.com"
    exit 1
  fi
  if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
    say "neither 'docker compose' nor 'docker-compose' is installed: apt-get install -y docker-compose"
    exit 1
  fi
  docker info >/dev/null 2>&1 && return 0
  if [ "$(id -u)" != 0 ] || ! command -v dockerd >/dev/null 2>&1; then
    say "the Docker daemon is not running: start it (e.g. 'sudo systemctl start docker'), or join the docker group"
    exit 1
  fi
  mkdir -p var
  say "starting dockerd (log: var/dockerd.log; it keeps running: kill \$(cat var/dockerd.pid) stops it)"
  setsid nohup dockerd > var/dockerd.log 2>&1 < /dev/null &
  echo $! > var/dockerd.pid
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && return 0; sleep 0.5; done
  say "dockerd did not start; see var/dockerd.log"
  exit 1
}

random_secret() {  # 18 random bytes as hex
  head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'
}

ensure_env() {
  if [ -f .env ]; then  # an .env written before the service credential existed gets one
    [ -n "$(setting SERVICE_TOKEN)" ] || set_setting SERVICE_TOKEN "$(random_secret)"
    [ -n "$(setting ERLANG_COOKIE)" ] || set_setting ERLANG_COOKIE "$(random_secret)"
    return 0
  fi
  say "writing .env from .env.example with random passwords and service token"
  sed -e "s/^RABBITMQ_PASSWORD=.*/RABBITMQ_PASSWORD=$(random_secret)/" \
      -e "s/^POSTGRES_PASSWORD=.*/POSTGRES_PASSWORD=$(random_secret)/" \
      -e "s/^SERVICE_TOKEN=.*/SERVICE_TOKEN=$(random_secret)/" \
      -e "s/^ERLANG_COOKIE=.*/ERLANG_COOKIE=$(random_secret)/" .env.example > .env
  chmod 600 .env
}

set_setting() {  # KEY VALUE: replace KEY's line in .env, or add it
  sed -i "/^$1=/d" .env
  echo "$1=$2" >> .env
}

base_image() {  # the image of KEY that .env names, else the official one
  local named; named=$(setting "$1"); echo "${named:-${OFFICIAL[$1]}}"
}

build() {  # docker build ARGS..., its output shown only when it fails
  local log; log=$(mktemp)
  if ! docker build "$@" > "$log" 2>&1; then cat "$log" >&2; rm -f "$log"; return 1; fi
  rm -f "$log"
}

standin() {  # KEY: build the stand-in for KEY (Docker's cache makes a rebuild quick)
  deploy/standins/base.sh "$STANDIN_BASE"
  say "building ${STANDIN[$1]} (deploy/standins/${FOLDER[$1]})"
  build --build-arg "BASE_IMAGE=$STANDIN_BASE" -t "${STANDIN[$1]}" "deploy/standins/${FOLDER[$1]}"
}

images() {
  ensure_daemon
  ensure_env
  local key image
  for key in PYTHON_IMAGE POSTGRES_IMAGE RABBITMQ_IMAGE JAEGER_IMAGE; do
    image=$(base_image "$key")
    if [ "$image" = "${STANDIN[$key]}" ]; then
      standin "$key"
    elif docker image inspect "$image" >/dev/null 2>&1; then
      say "using $image"
    elif say "pulling $image" && timeout 120 docker pull -q "$image" >/dev/null 2>&1; then
      say "pulled $image"
    else
      say "cannot pull $image: using a stand-in built from Debian's packages"
      standin "$key"
      set_setting "$key" "${STANDIN[$key]}"
    fi
  done
  say "building $APP_IMAGE on $(base_image PYTHON_IMAGE)"
  build --build-arg "PYTHON_IMAGE=$(base_image PYTHON_IMAGE)" -t "$APP_IMAGE" .
}

health() {  # the health of a container, or its state when it has no healthcheck
  docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$1"
}

one_shot_done() {  # a container that runs once (restart "no", e.g. choreo-topology) and exited 0
  [ "$(docker inspect -f '{{.HostConfig.RestartPolicy.Name}} {{.State.Status}} {{.State.ExitCode}}' "$1")" = "no exited 0" ]
}

wait_healthy() {  # VARIANT TIMEOUT_S
  local deadline=$((SECONDS + $2)) ids id waiting
  while :; do
    ids=$(compose --profile "$1" ps -q)
    waiting=()
    for id in $ids; do
      [ "$(health "$id")" = healthy ] || one_shot_done "$id" || waiting+=("$id")
    done
    if [ -n "$ids" ] && [ "${#waiting[@]}" -eq 0 ]; then return 0; fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "not healthy after $2 s:"
      for id in "${waiting[@]}"; do
        say "  $(docker inspect -f '{{.Name}}' "$id"): $(health "$id")"
        docker logs --tail 20 "$id" 2>&1 | sed 's/^/      /' >&2
      done
      return 1
    fi
    sleep 1
  done
}

up() {  # VARIANT
  local variant=${1:?say VARIANT=choreo or VARIANT=orch}
  case "$variant" in choreo|orch) ;; *) say "VARIANT must be choreo or orch"; exit 2 ;; esac
  choose_files "$variant"
  ensure_daemon
  ensure_env
  # docker-compose 1.29 gives up on a dependant when its dependency is not healthy yet
  # (a slow machine): wait for what was started, then start the rest.
  local attempt
  for attempt in 1 2 3; do
    if compose --profile "$variant" up -d; then break; fi
    [ "$attempt" = 3 ] && exit 1
    wait_healthy "$variant" 420 || exit 1
  done
  wait_healthy "$variant" 420
  local api=8001 ui=8089 inspect="8011-8014, RabbitMQ management 15672, AMQP 5672"
  if [ "$variant" = orch ]; then api=8002 ui=8090 inspect="8021-8024, orchestrator 8020"; fi
  [ "$variant" != orch ] || [ "${ORCH_TRANSPORT:-http}" != amqp ] \
    || inspect="$inspect, RabbitMQ management 15672, AMQP 5672"
  local how=""; [ "$variant" != orch ] || how=" (ORCH_TRANSPORT=${ORCH_TRANSPORT:-http})"
  [ "${CLUSTER:-1}" = 1 ] || how="$how on a three-node broker cluster (quorum queues)"
  echo "every container of $variant is healthy$how:"
  echo "  order API      http://localhost:$api/orders"
  echo "  Locust web UI  http://localhost:$ui"
  [ "${TRACING:-off}" = off ] || echo "  Jaeger         http://localhost:16686 (its UI; on 127.0.0.1 only)"
  echo "  on 127.0.0.1 only: inspection APIs $inspect"
}

leftovers() {  # every container, network and volume still labelled with the project
  local label="label=com.docker.compose.project=$(project)"
  docker ps -aq --filter "$label"
  docker network ls -q --filter "$label"
  docker volume ls -q --filter "$label"
}

down() {
  # Its one-shot and the cluster's nodes too, whichever way the variant was started.
  FILES+=(-f deploy/compose-amqp.yml -f deploy/compose-cluster.yml -f deploy/compose-cluster-orch.yml
          -f deploy/compose-tracing.yml)
  ensure_daemon
  if [ -f .env ]; then
    ensure_env  # an .env older than the cluster overlay gets its ERLANG_COOKIE, which it names
    compose --profile choreo --profile orch down -v --remove-orphans
  else  # nothing needs the passwords to be removed
    COMPOSE_PROJECT_NAME=orders-saga RABBITMQ_USER=none RABBITMQ_PASSWORD=none \
    POSTGRES_USER=none POSTGRES_PASSWORD=none SERVICE_TOKEN=none ERLANG_COOKIE=none \
      compose --profile choreo --profile orch down -v --remove-orphans
  fi
  if [ -n "$(leftovers)" ]; then
    say "left behind: $(leftovers | tr '\n' ' ')"
    exit 1
  fi
}

amqp_url() {
  [ -z "${AMQP_URL:-}" ] && [ -f .env ] && command -v docker >/dev/null 2>&1 || return 0
  local running
  running=$(docker ps -q --filter "label=com.docker.compose.project=$(project)" \
                        --filter "label=com.docker.compose.service=rabbitmq" 2>/dev/null || true)
  [ -n "$running" ] || return 0
  python3 -c 'import sys, urllib.parse as u
print(f"amqp://{u.quote(sys.argv[1], safe=str())}:{u.quote(sys.argv[2], safe=str())}@127.0.0.1:5672/%2F")' \
    "$(setting RABBITMQ_USER)" "$(setting RABBITMQ_PASSWORD)"
}

case "${1:-}" in
  images) images ;;
  up) up "${2:-}" ;;
  down) down ;;
  amqp-url) amqp_url ;;
  *) echo "usage: $0 images | up choreo|orch | down | amqp-url" >&2; exit 2 ;;
esac
