# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed-$(shell sha256sum requirements.txt | cut -c1-16)

.PHONY: run test venv clean cluster

venv: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $@

## Start web server, RQ worker and (unless REDIS_URL is set) the embedded Redis.
run: venv
	$(PY) -m server.runner

## Run the whole test suite (TEST_DATABASE_URL / TEST_REDIS_URL select real services).
test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

## A cluster on this machine: 2 web nodes behind nginx, 2 workers, PostgreSQL, Redis, SeaweedFS (bench/cluster.py).
cluster: venv
	$(PY) bench/cluster.py $(CLUSTER_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
