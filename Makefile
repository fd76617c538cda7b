# chitieu: two commands do all the set-up on a fresh machine.
#   make run    the local stack (Kafka, Redis, PostgreSQL) and the three services with demo data
#   make test   the whole test suite, against the real broker, Redis and PostgreSQL
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: install stack run test test-fast stop status bench migration token

install:
	bash scripts/stack.sh install

stack:
	bash scripts/stack.sh start

run: stack
	bash scripts/run.sh start

test: stack
	bash scripts/test.sh

stop:
	-bash scripts/run.sh stop
	bash scripts/stack.sh stop

status:
	bash scripts/stack.sh status
	-bash scripts/run.sh status

bench: stack
	$(PY) -m bench

# make migration SERVICE=quota MSG="add quotas"   (autogenerates from the service's models)
migration:
	$(PY) -m shared.migrations revision $(SERVICE) "$(MSG)"

token:
	@$(PY) -m shared.cli token --sub admin --org '*' --role admin
