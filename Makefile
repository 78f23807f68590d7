# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed-$(shell sha256sum requirements.txt | cut -c1-16)

.PHONY: run test venv clean

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

clean:
	rm -rf $(VENV) .pytest_cache
