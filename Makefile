# The index of commands. Every target a user runs is listed in the README.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VARIANT ?= choreo
REPLICAS ?= 1
DB ?= sqlite
LEDGER ?=
PYTEST_ARGS ?=

.PHONY: help venv broker up-choreo up-orch archive demo test test-faults test-unit test-integration test-e2e test-contract reset \
        status stop-service start-service dead-letters replay-dead-letters audit clean clean-reports \
        chaos fuzz trace test-tracing trace-cost watch up-both restart-with chromium test-browser sizes

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 24

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed  ## create .venv with the pinned packages

broker:  ## install rabbitmq-server if it is missing (apt, as root on Debian/Ubuntu)
	@scripts/ensure-rabbitmq.sh

up-choreo: venv broker  ## start the choreographed variant (Ctrl-C stops it); REPLICAS=2 for two workers per service; DB=postgres for PostgreSQL; BUDGET=on for a CPU quota per program
	$(PY) -m runner up choreo --replicas $(REPLICAS) --db $(DB)

up-both: venv broker  ## both variants and the page to watch them side by side (http://127.0.0.1:8080); Ctrl-C stops all
	$(PY) -m watch.both

watch: venv  ## only the page (http://127.0.0.1:8080), for variants already started with make up-choreo / make up-orch
	$(PY) -m watch

up-orch: venv broker  ## start the orchestrated variant (Ctrl-C stops it); REPLICAS=2 for two orchestrator replicas; DB=postgres for PostgreSQL; BUDGET=on for a CPU quota per program; ORCH_TRANSPORT=amqp for commands and replies over RabbitMQ (it starts the broker)
	$(PY) -m runner up orch --replicas $(REPLICAS) --db $(DB)

archive: venv  ## archive the orchestrated variant's finished sagas older than ORCH_RETENTION_S now
	VARIANT=orch PYTHONPATH=.:orders-orch $(PY) -m orchestrator.archive

demo: venv broker  ## load-test the three variants (choreo, orch, orch-amqp) in every scenario and write reports/<timestamp>/ (DEMO_SCALE=0.5 for half, DEMO_RUNS=3 to repeat)
	$(PY) -m load demo

.PHONY: demo-quick load-choreo load-orch load-headless bench-floor bench publish-run figures

demo-quick: venv broker  ## start each variant in turn and place one order of each outcome
	$(PY) -m scripts.demo

# Locust against a running variant: its web UI with the shapes to pick and a ledger audited
# after STOP (load/locustfile.py), or headless with an HTML report. LOCUST_ARGS adds options.
LOCUST_ARGS ?=
USERS ?= 20
RUN_TIME ?= 60s
LOAD_HOST_choreo := http://127.0.0.1:8001
LOAD_HOST_orch := http://127.0.0.1:8002
LOCUST := $(VENV)/bin/locust --ledger auto
LOCUST_UI := $(LOCUST) -f load/locustfile.py,load/shapes.py --class-picker --web-host 127.0.0.1

load-choreo: venv  ## Locust's web UI (http://127.0.0.1:8089) against a running `make up-choreo`, the Sagas tab, the shapes (LOCUST_ARGS= for more options)
	$(LOCUST_UI) --host $(LOAD_HOST_choreo) $(LOCUST_ARGS)

load-orch: venv  ## Locust's web UI (http://127.0.0.1:8089) against a running `make up-orch`, the Sagas tab, the shapes (LOCUST_ARGS= for more options)
	$(LOCUST_UI) --host $(LOAD_HOST_orch) $(LOCUST_ARGS)

load-headless: venv  ## Locust without its UI against a running variant (VARIANT=, USERS=20, RUN_TIME=60s): reports/locust-<variant>.html and _sagas.csv; non-zero exit when an order ends wrong or the audit fails
	$(LOCUST) -f load/locustfile.py --host $(LOAD_HOST_$(VARIANT)) --headless -u $(USERS) -r $(USERS) -t $(RUN_TIME) \
		--html reports/locust-$(VARIANT).html --csv reports/locust-$(VARIANT) --only-summary $(LOCUST_ARGS)

bench: venv broker  ## the drain benchmark: the three variants on SQLite and PostgreSQL, 3 runs each, CPU per order against the floor; writes reports/bench-<timestamp>/ (BENCH_VARIANTS=, BENCH_DBS=, BENCH_ORDERS=, BENCH_RUNS=)
	$(PY) -m load bench

bench-floor: venv broker  ## the floor: a bare RabbitMQ and a bare gunicorn round trip on this machine, timed, with the CPU of both ends; writes reports/floor-<timestamp>/
	$(PY) -m load floor

publish-run: venv  ## make a run's record one the docs cite: REPORT=reports/<folder> [NAME=<name>] writes docs/runs/<name>.json; REPLACES=<old record> also makes the docs cite it instead of the old one and renders them; COMMIT=<sha> for a report without a record that ran in a checkout of that commit
	@test -n "$(REPORT)" || { echo "usage: make publish-run REPORT=reports/<folder> [NAME=<name>] [REPLACES=<old record>] [COMMIT=<sha>]"; exit 2; }
	$(PY) -m load publish "$(REPORT)" $(if $(NAME),--name $(NAME)) $(if $(COMMIT),--commit $(COMMIT))
	$(if $(REPLACES),$(PY) -m ops.figures --replace $(REPLACES) $(or $(NAME),$(notdir $(patsubst %/,%,$(REPORT)))))

figures: venv  ## render every figure in README.md and docs/ from the records in docs/runs/ (make publish-run first); FIGURES_CHECK=1 only says what is stale
	$(PY) -m ops.figures $(if $(FIGURES_CHECK),--check)

test: venv broker chromium  ## the tests of the application: static, unit, integration (real broker), API contract, end-to-end, tracing, browser (make test-faults: the rest)
	$(PY) -m pytest tests/static tests/unit tests/integration tests/contract tests/e2e tests/tracing tests/browser $(PYTEST_ARGS)

test-faults: venv broker  ## the short fault catalogue (each fault under load, then the audit), two crash windows without the dedup (the damage it prevents), a smoke run of the load harness and the bench, Locust headless against both variants, and the CPU budgets
	$(PY) -m pytest tests/chaos tests/load $(PYTEST_ARGS)

chromium:  ## install Debian's chromium if it is missing (apt, as root), for the browser tests
	@scripts/ensure-chromium.sh

test-browser: venv broker chromium  ## the page in a real headless Chromium, both variants running (reports/browser/)
	$(PY) -m pytest tests/browser $(PYTEST_ARGS)

test-unit: venv  ## unit tests only (no broker, no servers)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: venv broker  ## integration tests against a real RabbitMQ and database
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

test-e2e: venv broker  ## end-to-end scenarios through the runner, over HTTP (DB=postgres: on PostgreSQL, with the API contract tests)
	E2E_DB=$(DB) $(PY) -m pytest tests/e2e $(if $(filter postgres,$(DB)),tests/contract) $(PYTEST_ARGS)

test-contract: venv broker  ## every service's /openapi.json is valid, and schemathesis finds each variant keeps to it
	$(PY) -m pytest tests/contract $(PYTEST_ARGS)

test-tracing: venv broker  ## one order of each outcome per variant: one trace each, across the broker; OTLP export
	$(PY) -m pytest tests/tracing $(PYTEST_ARGS)

trace: venv  ## print an order's trace as a waterfall: ORDER=<order_id> VARIANT=choreo|orch
	@test -n "$(ORDER)" || { echo "usage: make trace ORDER=<order_id> VARIANT=choreo|orch"; exit 2; }
	@$(PY) -m ops.traces "$(ORDER)" --variant $(VARIANT)

sizes: venv  ## each style's size counted from the imports (its tree and the shared code only it reaches; shared code apart), and the layout's limits
	$(PY) -m ops.sizes

trace-cost: venv broker  ## CPU ms per order with tracing off and on, in turn, 3 rounds: 500 orders, 16 client threads, each of the three variants; the cost as median and spread (TRACE_COST_ORDERS=, TRACE_COST_ROUNDS=)
	$(PY) -m scripts.trace_cost --orders $(or $(TRACE_COST_ORDERS),500) --rounds $(or $(TRACE_COST_ROUNDS),3)

reset: venv  ## empty a variant's databases and queues and restock the catalog (VARIANT=choreo)
	$(PY) -m runner reset $(VARIANT) --db $(DB)

status: venv  ## list the processes of a running variant (VARIANT=choreo)
	$(PY) -m runner status $(VARIANT)

stop-service: venv  ## stop one program of a running variant: SERVICE=payments-worker
	$(PY) -m runner stop-service $(VARIANT) $(SERVICE)

start-service: venv  ## start it again: SERVICE=payments-worker
	$(PY) -m runner start-service $(VARIANT) $(SERVICE)

restart-with: venv  ## restart one program with fault settings: SERVICE=payments-api SETTINGS="PAYMENTS_FAULT_LATENCY_MS=1000"
	$(PY) -m runner restart-with $(VARIANT) $(SERVICE) $(SETTINGS)

# While `make compose-up VARIANT=choreo` runs, the broker's user and password are .env's.
COMPOSE_AMQP = $(shell deploy/compose.sh amqp-url 2>/dev/null)
WITH_AMQP = $(if $(COMPOSE_AMQP),AMQP_URL='$(COMPOSE_AMQP)')

dead-letters: venv  ## list dead-lettered messages with their reasons (choreographed variant)
	@$(WITH_AMQP) $(PY) -m ops.deadletters list

replay-dead-letters: venv  ## send every dead letter back to the queue it came from
	@$(WITH_AMQP) $(PY) -m ops.deadletters replay

clean:  ## remove var/ (databases, logs, broker data); reports/ stays, so benches and demos can be compared later
	rm -rf var

clean-reports:  ## remove reports/ (every demo, bench and chaos report)
	rm -rf reports

audit: venv  ## check docs/domain.md's invariants of a running variant (native or compose) through its inspection API (VARIANT=choreo, LEDGER=a client's ledger); lists dead letters (choreo) or stuck sagas (orch)
	@$(WITH_AMQP) $(PY) -m audit --variant $(VARIANT) $(if $(LEDGER),--ledger $(LEDGER))

# `make chaos` runs every scenario in the three variants (choreo, orch, orch-amqp); SCENARIO=kill-payments VARIANT=orch runs one;
# TEACH=TEACH_DISABLE_DEDUP runs a teaching switch's scenario, whose audit must then fail.
chaos: venv broker  ## the fault catalogue under load, then the audit (SCENARIO=, VARIANT=, TEACH=, DB=postgres); see docs/faults.md
	$(PY) -m chaos --db $(DB) $(if $(TEACH),--teach $(TEACH),$(if $(SCENARIO),--scenario $(SCENARIO) --variant $(VARIANT),--variant all))

fuzz: venv broker  ## 1,000 generated bad requests per variant (values and structural extremes): no 5xx, no order but those answered 2xx
	$(PY) -m chaos --fuzz-only --requests 1000 --variant both

# --- Docker Compose (docs/deploy.md): the same programs, one container each. ---

.PHONY: compose-images compose-up compose-down test-compose chaos-cluster bench-cluster

compose-images:  ## build the app image (and stand-ins for official images that cannot be pulled)
	deploy/compose.sh images

compose-up: compose-images  ## start a variant in containers, detached, and wait until all are healthy (VARIANT=choreo); VARIANT=orch ORCH_TRANSPORT=amqp over RabbitMQ; CLUSTER=3 on a three-node RabbitMQ cluster with quorum queues; TRACING=jaeger with Jaeger (UI on 127.0.0.1:16686)
	deploy/compose.sh up $(VARIANT)

compose-down:  ## remove every container, network and volume of the compose project
	deploy/compose.sh down

test-compose: venv compose-images  ## both variants under compose: e2e scenarios, a killed container, audit, Locust; the choreographed variant on a three-node cluster with its queue leader killed (not in make test)
	$(PY) -m pytest tests/compose $(PYTEST_ARGS)

# The cluster rows of the fault catalogue, each under load with the ledger audit (chaos/cluster.py).
CLUSTER_VARIANT = $(if $(filter orch,$(VARIANT)),orch-amqp,$(VARIANT))

bench-cluster: venv compose-images  ## the price of a cluster: VARIANT= (choreo, or orch: over AMQP) on one node with classic queues, then on three with quorum queues; CPU per order, throughput, POST and completion p99 (BENCH_ORDERS=500, BENCH_RUNS=3); reports/bench-cluster-<time>/
	$(PY) -m load.cluster_bench --variant $(CLUSTER_VARIANT) --orders $(or $(BENCH_ORDERS),500) --runs $(or $(BENCH_RUNS),3)

chaos-cluster: venv compose-images  ## the cluster rows of the fault catalogue on CLUSTER=3 (VARIANT=choreo or orch: orch over AMQP; SCENARIO= for one): leader killed, node stopped 30 s, node cut off, cluster restarted
	$(PY) -m chaos.cluster --variant $(CLUSTER_VARIANT) $(if $(SCENARIO),--scenario $(SCENARIO))

# --- Exercises (docs/exercises.md): put a guarantee back in a scratch copy under var/exercises/. ---

.PHONY: exercises exercise check-exercise hint solution reset-exercise test-exercises

exercises: venv  ## list the exercises and your progress (not started, started, passed)
	@$(PY) -m exercises list

exercise: venv  ## start one: a scratch copy under var/exercises/NAME/ with the guarantee taken out (NAME=idempotent-consumer)
	@$(PY) -m exercises start $(NAME)

check-exercise: venv  ## run the tests that decide an exercise in its scratch copy: PASS or FAIL (NAME=)
	@$(PY) -m exercises check $(NAME)

hint: venv  ## an exercise's hint (NAME=)
	@$(PY) -m exercises hint $(NAME)

solution: venv  ## put the reference solution into an exercise's scratch copy, and print it (NAME=)
	@$(PY) -m exercises solution $(NAME)

reset-exercise: venv  ## delete an exercise's scratch copy and its progress (NAME=)
	@$(PY) -m exercises reset $(NAME)

test-exercises: venv broker  ## the self-test: every exercise removed fails its check, solved passes, each known wrong fix fails
	$(PY) -m exercises selftest
