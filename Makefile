# chitieu: two commands do all the set-up on a fresh machine.
#   make run    the local stack (Kafka, Redis, PostgreSQL) and the four services with demo data,
#               under supervisord (a process that dies is started again)
#   make test   the whole test suite, against the real broker, Redis and PostgreSQL
SHELL := /bin/bash
PY := .venv/bin/python
STACK_DIR := $(or $(CHITIEU_STACK_DIR),.stack)
# Python commands run with the settings make run's processes get (the stack's ports and URLs).
WITH_STACK := bash scripts/run.sh exec

.PHONY: install stack run logs test test-fast stop status bench migration token backup restore lock

install:
	bash scripts/stack.sh install

stack:
	bash scripts/stack.sh start

run: stack
	bash scripts/run.sh start

# Every process's log, followed in one stream (Ctrl-C ends).
logs:
	bash scripts/run.sh logs

test: stack
	bash scripts/test.sh

stop:
	-bash scripts/run.sh stop
	bash scripts/stack.sh stop

status:
	bash scripts/stack.sh status
	-bash scripts/run.sh status

bench: stack
	$(WITH_STACK) $(PY) -m bench

# make migration SERVICE=quota MSG="add quotas"   (autogenerates from the service's models)
migration:
	$(PY) -m shared.migrations revision $(SERVICE) "$(MSG)"

token:
	@$(WITH_STACK) $(PY) -m shared.cli token --sub admin --org '*' --role admin

# make backup [DIR=backups]   every service's database and the consumers' offsets, while running
# make restore FROM=backups/<name>   with the services stopped; then make run (README: Backup)
backup:
	$(WITH_STACK) $(PY) -m shared.cli backup create $(or $(DIR),$(STACK_DIR)/backups)

restore:
	@[ -n "$(FROM)" ] || { echo "make restore FROM=<backup directory>"; exit 2; }
	$(WITH_STACK) $(PY) -m shared.cli backup restore $(FROM)
	$(WITH_STACK) $(PY) -m services.quota.worker rebuild

# requirements.lock: every dependency of pyproject.toml, direct or not, pinned with its files'
# hashes, for the image (deploy/Dockerfile installs it with --require-hashes). Run after changing a
# pin in pyproject.toml; tests/deploy/test_lock.py checks the two agree.
lock:
	.venv/bin/pip-compile --generate-hashes --strip-extras --allow-unsafe --build-deps-for editable --no-emit-find-links \
		--no-header --quiet -o requirements.lock pyproject.toml
