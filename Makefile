# The two commands a newcomer needs: `make up` and `make test` (README).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install up test lint services clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "python3 (3.11+) is required"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

# Start PostgreSQL and RabbitMQ when they do not answer (../shared/SERVICES.md); install them
# from Debian's packages first on a machine that has neither.
services:
	@if ! command -v pg_ctlcluster >/dev/null || ! command -v rabbitmq-server >/dev/null; then \
	  echo "installing postgresql and rabbitmq-server"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql rabbitmq-server; \
	  hba=$$(ls /etc/postgresql/*/main/pg_hba.conf | head -1); \
	  grep -q "hirebuddha-local-trust" $$hba || sed -i '1i host all all 127.0.0.1/32 trust # hirebuddha-local-trust' $$hba; \
	fi
	@if ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  echo "starting PostgreSQL"; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
	  for i in $$(seq 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done; \
	fi
	@if ! timeout 2 bash -c '</dev/tcp/127.0.0.1/5672' 2>/dev/null; then \
	  echo "starting RabbitMQ"; \
	  rabbitmq-server -detached; \
	  rabbitmqctl await_startup --timeout 120 >/dev/null; \
	fi

up: install services
	$(BIN)/hirebuddha up

lint: install
	$(BIN)/ruff check runtime actors web ledger tests piccolo_migrations

test: install services lint
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
