# The system's commands. `make up` runs docker-compose.yml when a Docker engine answers, and the
# same topology as local processes (the native stack, see deploy/native/) otherwise.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The pinned uv: deploy/uv.sh finds it, or installs it on first use (nothing else to set up).
ifndef UV
UV := $(shell deploy/uv.sh)
endif
export UV
PYTHON := .venv/bin/python
NATIVE := $(PYTHON) -m deploy.native
CLUSTER := $(PYTHON) -m deploy.cluster
PYTEST := $(PYTHON) -m pytest
# docker-compose.yml includes deploy/compose.yml with deploy/versions.env; the secrets come from
# .env: the same command a user types. (down, status and logs name every profile, or they would
# not reach the polling relay nor the UI.)
COMPOSE := docker compose
# Set STACK=native or STACK=compose to choose; by default compose when a Docker engine answers.
STACK ?= $(shell docker info >/dev/null 2>&1 && echo compose || echo native)

.PHONY: help sync up down status logs topics raw-connector watch-raw watch-events recover-connector dlq notifications feed newest-post relay-mode replay accept-gap retry-dead receiver receiver-stop stop-% start-% kill-% cut-% reconnect-% cluster-up cluster-down cluster-status cluster-faults cluster-scaling loadtest benchmarks compare test unit integration e2e lint audit clean

help: ## list the targets
	@grep -E '^[a-z0-9%-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# Compiled to bytecode once per uv.lock, not at every start: where PYTHONDONTWRITEBYTECODE is set
# (or site-packages is read-only), each process compiled SQLAlchemy, FastAPI, Pydantic... anew, and
# a service or a `make` command took 2.9 s instead of 1.3 s to start. (uv's --compile-bytecode
# goes through the whole of site-packages each time: 10 to 20 s the first time, 0.4 s when all is
# compiled already; hence once.)
sync: ## install the Python dependencies from uv.lock into .venv (fails if uv.lock is out of date)
	@test -n "$(UV)" || { echo "no uv: see the message of deploy/uv.sh above"; exit 1; }
	@if [ .venv/.compiled -nt uv.lock ]; then $(UV) sync --locked --quiet; \
	else $(UV) sync --locked --quiet --compile-bytecode && touch .venv/.compiled; fi

up: sync ## start the whole system (idempotent) and print where each part listens
ifeq ($(STACK),compose)
	@version=$$(docker compose version --short); printf '%s\n' 2.21.0 "$${version#v}" | sort -V -C || \
		{ echo "docker compose $$version is too old: 2.21 or newer reads docker-compose.yml"; exit 1; }
	$(COMPOSE) up --detach --build --wait || \
		{ $(COMPOSE) logs --no-log-prefix --tail 5 connector-registration; exit 1; }
	$(COMPOSE) ps
else
	@$(NATIVE) up
endif

down: sync ## stop everything (data is kept; `make clean` removes it)
ifeq ($(STACK),compose)
	$(COMPOSE) --profile polling --profile ui down
else
	@$(NATIVE) down
endif

status: sync ## each part's health
ifeq ($(STACK),compose)
	$(COMPOSE) --profile polling --profile ui ps --all
else
	@$(NATIVE) status
endif

logs: sync ## follow every part's logs
ifeq ($(STACK),compose)
	$(COMPOSE) --profile polling --profile ui logs --follow
else
	@$(NATIVE) logs
endif

stop-%: sync ## stop one part, e.g. `make stop-kafka`
ifeq ($(STACK),compose)
	$(COMPOSE) stop $*
else ifeq ($(STACK),cluster)
	@$(CLUSTER) stop $*
else
	@$(NATIVE) stop $*
endif

start-%: sync ## start one part again and wait until it is ready, e.g. `make start-kafka`
ifeq ($(STACK),compose)
	$(COMPOSE) up --detach --wait --no-deps $*
else ifeq ($(STACK),cluster)
	@$(CLUSTER) start $*
else
	@$(NATIVE) start $*
endif

# Under compose the part's processes are killed from inside (its init, init: true, is spared and
# exits 137), so the engine restarts it; `docker compose kill` would count as a manual stop, which
# restart: unless-stopped never restarts. It returns once the engine has restarted the part.
kill-%: sync ## SIGKILL one part; returns once its supervisor restarted it, e.g. `make kill-subscribe-consumer`
ifeq ($(STACK),compose)
	@id=$$($(COMPOSE) ps --quiet --status running $*); test -n "$$id" || { echo "$* is not running"; exit 1; }; \
		restarts=$$(docker inspect --format '{{.RestartCount}}' $$id); \
		$(COMPOSE) exec -T $* sh -c 'kill -9 -1' || true; \
		for _ in $$(seq 300); do \
			[ "$$(docker inspect --format '{{.RestartCount}}' $$id)" != "$$restarts" ] && exit 0; sleep 0.25; \
		done; echo "$* was not restarted within 75 s"; exit 1
else ifeq ($(STACK),cluster)
	@$(CLUSTER) kill $*
else
	@$(NATIVE) kill $*
endif

# The cluster topology (deploy/cluster): each part on a host of its own, in network namespaces.
# In it, the parts of stop-%, start-% and kill-% are hosts, e.g. STACK=cluster make stop-kafka-2
# (every process on it SIGKILLed, and left down until start-kafka-2).
cluster-up: sync ## the cluster topology: 3 Kafka nodes, 2 Connect workers, 2 post services behind nginx, 3 consumers, each on a host of its own (root)
	@$(CLUSTER) up

cluster-down: sync ## stop the cluster and remove its hosts (data is kept in .cluster/)
	@$(CLUSTER) down

cluster-status: sync ## each cluster host's state, health and link; where the connectors' tasks run
	@$(CLUSTER) status

cluster-faults: sync ## every cluster fault under load, with the audit (`make cluster-up` first, ~10 min)
	$(PYTEST) tests/cluster

cluster-scaling: sync ## consumer catch-up with 1, 2, 3 consumers, ingest through 1, 2 post services, CPU per post by host (`make cluster-up` first, ~10 min)
	$(PYTHON) -m loadtest.scaling

cut-%: sync ## cluster only: unplug a host's network link, e.g. `make cut-kafka-3`
	@$(CLUSTER) cut $*

reconnect-%: sync ## cluster only: plug a host's network link back in
	@$(CLUSTER) reconnect $*

topics: sync ## list Kafka's topics
	@$(PYTHON) -m connect.topics list

raw-connector: sync ## register a second connector, without the Event Router: raw change events
ifeq ($(STACK),compose)
	$(COMPOSE) run --rm connector-registration python -m connect.register --raw
else
	@set -a && . .stack/secrets.env && set +a && $(PYTHON) -m connect.register --raw
endif

watch-raw: sync ## print the raw change events of the outbox table (`make raw-connector` first)
	@$(PYTHON) -m connect.topics watch raw

watch-events: sync ## print the events Debezium's Event Router publishes
	@$(PYTHON) -m connect.topics watch events

recover-connector: sync ## after the binlog it needed was purged: reset the connector, resend since SINCE
	@test -n "$(SINCE)" || { echo "usage: make recover-connector SINCE=2026-11-21T10:00:00Z"; exit 2; }
ifeq ($(STACK),compose)
	$(COMPOSE) run --rm --no-deps connector-registration python -m connect.register --reset
	$(COMPOSE) run --rm --no-deps post-service python -m post_service reconcile --since $(SINCE)
else
	@set -a && . .stack/secrets.env && set +a && $(PYTHON) -m connect.register --reset
	@set -a && . .stack/secrets.env && set +a && $(PYTHON) -m post_service reconcile --since $(SINCE)
endif

dlq: sync ## print the dead letters: messages the consumer could never apply, with their error
	@$(PYTHON) -m connect.topics watch dead-letters --last 20

SUBSCRIBER ?= 101
notifications: sync ## what one subscriber was told: `make notifications SUBSCRIBER=101`
	@$(PYTHON) -m subscribe_service notifications $(SUBSCRIBER)

feed: sync ## one subscriber's feed, from the read model (the JDBC sink's copy): `make feed SUBSCRIBER=101`
	@$(PYTHON) -m subscribe_service feed $(SUBSCRIBER)

newest-post: sync ## the id of the newest post in a subscriber's feed: `make -s newest-post SUBSCRIBER=101`
	@$(PYTHON) -m subscribe_service feed $(SUBSCRIBER) --newest-id

RECEIVER_PORT ?= 9000
receiver: sync ## run the README's webhook receiver in the background: `WEBHOOK_SECRET=whsec_... make receiver`
ifeq ($(STACK),compose)
	@echo "native stack only: under compose the dispatcher, in its container, cannot reach 127.0.0.2 of this host; run examples/webhook_receiver.py where it can"; exit 2
else
	@test -n "$$WEBHOOK_SECRET" || { echo "usage: WEBHOOK_SECRET=whsec_... make receiver [RECEIVER_PORT=9000]"; exit 2; }
	@mkdir -p .stack/logs .stack/run
	@nohup $(PYTHON) examples/webhook_receiver.py $(RECEIVER_PORT) > .stack/logs/receiver.log 2>&1 < /dev/null & \
		echo $$! > .stack/run/receiver.pid
	@for _ in $$(seq 100); do grep -q listening .stack/logs/receiver.log && break; sleep 0.1; done
	@cat .stack/logs/receiver.log
endif

receiver-stop: ## stop the receiver `make receiver` started
	@if [ -f .stack/run/receiver.pid ]; then kill "$$(cat .stack/run/receiver.pid)" 2>/dev/null || true; fi
	@rm -f .stack/run/receiver.pid
	@echo "receiver stopped"

retry-dead: sync ## make dead webhook deliveries pending again: `make retry-dead [SUBSCRIBER=101]`
ifeq ($(STACK),compose)
	$(COMPOSE) run --rm --no-deps subscribe-dispatcher python -m subscribe_service retry-dead $(if $(filter command line environment,$(origin SUBSCRIBER)),--subscriber $(SUBSCRIBER))
else
	@set -a && . .stack/secrets.env && set +a && $(PYTHON) -m subscribe_service retry-dead $(if $(filter command line environment,$(origin SUBSCRIBER)),--subscriber $(SUBSCRIBER))
endif

relay-mode: sync ## show the relay mode, or switch: `make relay-mode MODE=cdc|polling|direct`
ifeq ($(STACK),compose)
	@echo "compose: set POST_RELAY_MODE=$(or $(MODE),cdc) in .env (with COMPOSE_PROFILES=polling for polling),"
	@echo "pause the outbox connector for polling or direct, resume it for cdc"
	@echo "(curl -X PUT localhost:8083/connectors/outbox-connector/pause or .../resume), then: make up"
else
	@$(NATIVE) relay-mode $(MODE)
endif

replay: sync ## rewind the consumer group to the earliest offset and let it run again
	@$(MAKE) --no-print-directory stop-subscribe-consumer
ifeq ($(STACK),compose)
	$(COMPOSE) run --rm --no-deps subscribe-consumer python -m subscribe_service replay
else
	@set -a && . .stack/secrets.env && set +a && $(PYTHON) -m subscribe_service replay
endif
	@$(MAKE) --no-print-directory start-subscribe-consumer

accept-gap: sync ## after the consumer stopped on offsets out of range (events deleted unread): move on, print the gap
	@$(MAKE) --no-print-directory stop-subscribe-consumer
ifeq ($(STACK),compose)
	$(COMPOSE) run --rm --no-deps subscribe-consumer python -m subscribe_service accept-gap
else
	@set -a && . .stack/secrets.env && set +a && $(PYTHON) -m subscribe_service accept-gap
endif
	@$(MAKE) --no-print-directory start-subscribe-consumer

RATE ?= 10
DURATION ?= 30
SUBSCRIBERS ?= 1
EDITS ?= 0
DELETES ?= 0
loadtest: sync ## open-loop load with a delivery audit: RATE=10 DURATION=30 SUBSCRIBERS=1 EDITS=0.5 DELETES=0.05 FAULT=kafka@10s+20s
ifeq ($(STACK),compose)
	@# The audit reads the databases as the services' users, with the passwords of .env.
	$(PYTHON) -m dotenv --file .env run --no-override -- \
		$(PYTHON) -m loadtest --rate $(RATE) --duration $(DURATION) --subscribers $(SUBSCRIBERS) \
		--edit-share $(EDITS) --delete-share $(DELETES) $(foreach fault,$(FAULT),--fault $(fault))
else
	$(PYTHON) -m loadtest --rate $(RATE) --duration $(DURATION) --subscribers $(SUBSCRIBERS) \
		--edit-share $(EDITS) --delete-share $(DELETES) $(foreach fault,$(FAULT),--fault $(fault))
endif

benchmarks: sync ## measure every figure of docs/benchmarks.md and write them there (~15 min)
ifeq ($(STACK),compose)
	@echo "make benchmarks measures the native stack only (docs/benchmarks.md): STACK=native make benchmarks"; exit 1
else
	$(PYTHON) -m loadtest.benchmarks
endif

compare: sync ## the three relay modes under the same load with a Kafka outage (native stack)
ifeq ($(STACK),compose)
	@echo "make compare runs on the native stack only (it switches relay modes, reads MariaDB's statistics): STACK=native make compare"; exit 1
else
	$(PYTHON) -m loadtest.compare
endif

test: sync ## the test command: every tier on the native stack, then the cluster tier, each brought up and torn down
	@$(MAKE) --no-print-directory lint
	@$(PYTEST) tests/unit tests/contract
	@STACK=native $(MAKE) --no-print-directory up
	@status=0; $(PYTEST) tests/integration tests/e2e || status=$$?; \
		STACK=native $(MAKE) --no-print-directory down; \
		if [ $$status -eq 0 ]; then \
			$(MAKE) --no-print-directory cluster-up && $(PYTEST) tests/cluster -m "not extended" || status=$$?; \
			$(MAKE) --no-print-directory cluster-down; \
		fi; exit $$status

unit: sync ## pure logic and the event contract, no running parts
	$(PYTEST) tests/unit tests/contract

integration: sync ## against the running databases and Kafka (`make up` first)
ifeq ($(STACK),compose)
	@echo "the integration tests run against the native stack only: STACK=native make up integration"; exit 1
else
	$(PYTEST) tests/integration
endif

e2e: sync ## the whole running system over HTTP, with faults (`make up` first)
ifeq ($(STACK),compose)
	@echo "the e2e tests run against the native stack only: STACK=native make up e2e"; exit 1
else
	$(PYTEST) tests/e2e
endif

lint: sync ## ruff and mypy --strict
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy

audit: sync ## audit the locked dependencies for known vulnerabilities (pip-audit; needs PyPI's JSON API)
	$(UV) export --frozen --no-hashes --no-emit-project --quiet > .venv/requirements-audit.txt
	$(PYTHON) -m pip_audit --strict --requirement .venv/requirements-audit.txt --progress-spinner off

clean: down ## stop everything and delete the data (compose: its volumes; native: .stack/ but the download cache)
ifeq ($(STACK),compose)
	$(COMPOSE) --profile polling --profile ui down --volumes
else
	find .stack -mindepth 1 -maxdepth 1 ! -name cache -exec rm -rf {} +
endif
