# The two commands a newcomer needs: `make up` and `make test` (README).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Test workers (pytest-xdist): each has its own database, RabbitMQ vhost and web process.
TEST_WORKERS ?= 3

.PHONY: install up test soak lint lint-deploy services chromium clean lock

SPA_SRC := $(shell find spa/src spa/public -type f 2>/dev/null) spa/index.html spa/package.json spa/vite.config.ts spa/tsconfig.json

install: $(STAMP) spa/dist/index.html tools/oidc/node_modules/.installed

# Python packages come from requirements.lock (pinned, with hashes), never from whatever is
# newest on the day; the project itself is installed on top without resolving anything.
LOCK := requirements.lock

$(STAMP): pyproject.toml $(LOCK)
	@command -v $(PYTHON) >/dev/null || { echo "python3 (3.11+) is required"; exit 1; }
	@$(PYTHON) -m tools.lock check
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --require-hashes -r $(LOCK)
	$(BIN)/pip install -q --no-deps -e .
	@touch $(STAMP)

# Regenerate the lock after changing dependencies in pyproject.toml (README "Dependencies").
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/pip install -q 'uv>=0.5,<1'
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 --no-header --quiet -o $(LOCK)
	$(BIN)/python -m tools.lock stamp

# Start PostgreSQL and RabbitMQ when they do not answer (docs/architecture.md "Processes"); install them
# from Debian's packages first on a machine that has neither.
# The console: npm ci when the lock changes, a Vite build when a source changes.
spa/node_modules/.installed: spa/package-lock.json
	@command -v npm >/dev/null || { echo "Node 20.19+ with npm is required to build the console"; exit 1; }
	cd spa && npm ci --no-audit --no-fund
	@touch $@

# The OpenID provider the identity tests run (tools/oidc, docs/identity.md "OIDC").
tools/oidc/node_modules/.installed: tools/oidc/package-lock.json
	cd tools/oidc && npm ci --no-audit --no-fund
	@touch $@

spa/dist/index.html: spa/node_modules/.installed $(SPA_SRC)
	cd spa && npm run build
	@touch $@

# Browser tests drive Debian's Chromium; never a downloaded browser.
chromium:
	@command -v chromium >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# `rabbitmq-server -detached` returns before the node has registered with epmd, and
# `rabbitmqctl await_startup` gives up at once on a node epmd does not know yet (exit 69, what
# a fresh CI machine hit): retry it until the node has booted, then check once more so a node
# that never comes up fails the target.
RABBIT_START = rabbitmq-server -detached; \
  for i in $$(seq 60); do rabbitmqctl -q await_startup --timeout 10 >/dev/null 2>&1 && break; sleep 2; done; \
  rabbitmqctl -q await_startup --timeout 10 >/dev/null

services:
	@if ! command -v pg_ctlcluster >/dev/null || ! command -v rabbitmq-server >/dev/null; then \
	  echo "installing postgresql and rabbitmq-server"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql rabbitmq-server; \
	  hba=$$(ls /etc/postgresql/*/main/pg_hba.conf | head -1); \
	  grep -q "hirebuddha-local-trust" $$hba || sed -i '1i host all all 127.0.0.1/32 trust # hirebuddha-local-trust' $$hba; \
	fi
	@# pgvector (docs/knowledge.md): Debian's postgresql-N-pgvector where the release has it,
	@# else built from the copy of its source in deploy/pgvector (bookworm has no package).
	@v=$$(ls /etc/postgresql | sort -V | tail -1); \
	if [ ! -f /usr/share/postgresql/$$v/extension/vector.control ]; then \
	  echo "installing pgvector for PostgreSQL $$v"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-$$v-pgvector 2>/dev/null || { \
	    (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-$$v-pgvector) 2>/dev/null || { \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -q build-essential postgresql-server-dev-$$v && \
	      rm -rf /tmp/hb-pgvector && cp -r deploy/pgvector /tmp/hb-pgvector && \
	      $(MAKE) -s -C /tmp/hb-pgvector OPTFLAGS="" PG_CONFIG=/usr/lib/postgresql/$$v/bin/pg_config && \
	      $(MAKE) -s -C /tmp/hb-pgvector OPTFLAGS="" PG_CONFIG=/usr/lib/postgresql/$$v/bin/pg_config install; }; }; \
	fi
	@if ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  echo "starting PostgreSQL"; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
	  for i in $$(seq 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done; \
	fi
	@# Every web, actors and ledger process a test starts opens a pool; Debian's default of 100
	@# connections ran out with several test runs at once (docs/operations.md "Capacity").
	@if [ "$$(psql -h 127.0.0.1 -U postgres -tAc 'show max_connections' 2>/dev/null || echo 0)" -lt 300 ]; then \
	  echo "raising PostgreSQL max_connections to 300"; \
	  psql -h 127.0.0.1 -U postgres -qc "ALTER SYSTEM SET max_connections = 300" && \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main restart; \
	  for i in $$(seq 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done; \
	fi
	@# Debian starts the broker with 1,024 open files (832 sockets). Three pytest workers, each
	@# starting web, actors and ledger processes with several connections apiece, used them
	@# up: the broker then accepted TCP and never answered the handshake, for minutes. Raise
	@# the soft limit in its environment file and restart a broker running with less.
	@grep -q "hirebuddha: sockets" /etc/rabbitmq/rabbitmq-env.conf 2>/dev/null || \
	  echo 'ulimit -S -n 16384 2>/dev/null || true  # hirebuddha: sockets for many test processes' >> /etc/rabbitmq/rabbitmq-env.conf
	@pid=$$(cat /var/lib/rabbitmq/mnesia/rabbit@*.pid 2>/dev/null); \
	if [ -n "$$pid" ] && [ -r /proc/$$pid/limits ] && \
	   [ "$$(awk '/Max open files/ {print $$4}' /proc/$$pid/limits)" -lt 16384 ]; then \
	  echo "restarting RabbitMQ with 16,384 open files"; \
	  rabbitmqctl stop >/dev/null 2>&1 || kill -9 $$pid; sleep 2; \
	  $(RABBIT_START); \
	fi
	@# A broker can accept TCP and say it is running yet never answer the AMQP handshake
	@# (seen here): probe the handshake itself and restart the node when it stays silent.
	@if ! timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5672; printf "AMQP\x00\x00\x09\x01" >&3; head -c 1 <&3 | od -An -tx1 | grep -q 01' 2>/dev/null; then \
	  echo "starting RabbitMQ"; \
	  pid=$$(cat /var/lib/rabbitmq/mnesia/rabbit@*.pid 2>/dev/null); [ -n "$$pid" ] && kill -9 $$pid 2>/dev/null; \
	  $(RABBIT_START); \
	fi
	@# It can also answer AMQP while its vhost supervisor is stuck (seen here after many runs
	@# added and deleted vhosts at once): every add_vhost then hangs. Probe one; restart if stuck.
	@if ! timeout 30 rabbitmqctl -q add_vhost hb-services-probe >/dev/null 2>&1 || \
	   ! timeout 30 rabbitmqctl -q delete_vhost hb-services-probe >/dev/null 2>&1; then \
	  echo "restarting RabbitMQ: it does not create vhosts"; \
	  pid=$$(cat /var/lib/rabbitmq/mnesia/rabbit@*.pid 2>/dev/null); [ -n "$$pid" ] && kill -9 $$pid 2>/dev/null; \
	  sleep 2; $(RABBIT_START); \
	fi

up: install services
	$(BIN)/hirebuddha up

lint: install
	$(BIN)/ruff check runtime actors web ledger billing tools tests piccolo_migrations
	$(BIN)/mypy runtime actors web ledger billing tools
	$(MAKE) --no-print-directory lint-deploy

# The container and cluster files (docs/operations.md "How they were validated").
lint-deploy: install
	$(BIN)/hadolint Dockerfile
	$(BIN)/yamllint -s -d "{extends: relaxed, rules: {line-length: {max: 160}}}" deploy
	$(BIN)/kubernetes-validate --strict $(filter-out deploy/k8s/rabbitmq.yaml,$(wildcard deploy/k8s/*.yaml))

test: install services lint chromium
	cd spa && npm run lint && npm run typecheck && npm run test
	$(BIN)/pytest -q -m "not soak" -n $(TEST_WORKERS) --dist loadfile --durations=20

# The long fault runs (documented in the README): real processes killed again and again.
soak: install services
	$(BIN)/pytest -q -m soak

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Hirebuddha beside the LiteLLM proxy in one bench run (README "Performance"). The proxy goes
# into a virtualenv of its own, .hirebuddha/peers/litellm, on first use (network needed once);
# never into .venv, and not part of `make test`.
.PHONY: bench-peers
bench-peers: install services
	$(BIN)/hirebuddha bench --peer litellm --json bench-peers.json
