# The index of commands. Every target a user runs is listed in the README.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VARIANT ?= choreo
REPLICAS ?= 1
PYTEST_ARGS ?=

.PHONY: help venv broker up-choreo up-orch archive demo test test-unit test-integration test-e2e reset \
        status stop-service start-service dead-letters replay-dead-letters audit clean

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

up-choreo: venv broker  ## start the choreographed variant (Ctrl-C stops it); REPLICAS=2 for two workers per service
	$(PY) -m runner up choreo --replicas $(REPLICAS)

up-orch: venv  ## start the orchestrated variant (Ctrl-C stops it); REPLICAS=2 for two orchestrator replicas
	$(PY) -m runner up orch --replicas $(REPLICAS)

archive: venv  ## archive the orchestrated variant's finished sagas older than ORCH_RETENTION_S now
	VARIANT=orch PYTHONPATH=.:orders-orch $(PY) -m orchestrator.archive

demo: venv broker  ## start each variant in turn and place one order of each outcome
	$(PY) -m scripts.demo

test: venv broker  ## run every test: unit, integration (real broker) and end-to-end
	$(PY) -m pytest tests/unit tests/integration tests/e2e $(PYTEST_ARGS)

test-unit: venv  ## unit tests only (no broker, no servers)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: venv broker  ## integration tests against a real RabbitMQ and database
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

test-e2e: venv broker  ## end-to-end scenarios through the runner, over HTTP
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

reset: venv  ## empty a variant's databases and queues and restock the catalog (VARIANT=choreo)
	$(PY) -m runner reset $(VARIANT)

status: venv  ## list the processes of a running variant (VARIANT=choreo)
	$(PY) -m runner status $(VARIANT)

stop-service: venv  ## stop one program of a running variant: SERVICE=payments-worker
	$(PY) -m runner stop-service $(VARIANT) $(SERVICE)

start-service: venv  ## start it again: SERVICE=payments-worker
	$(PY) -m runner start-service $(VARIANT) $(SERVICE)

dead-letters: venv  ## list dead-lettered messages with their reasons (choreographed variant)
	$(PY) -m shared.messaging.deadletters list

replay-dead-letters: venv  ## send every dead letter back to the queue it came from
	$(PY) -m shared.messaging.deadletters replay

clean:  ## remove var/ (databases, logs, broker data) and reports/
	rm -rf var reports

audit: venv  ## check DOMAIN.md's invariants of a running variant through its inspection API (VARIANT=choreo)
	$(PY) -m audit --variant $(VARIANT)
