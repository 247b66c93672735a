# make run / make test / make bench / make eval: each bootstraps .venv itself.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench eval check lint clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python bot.py run --config config.yaml

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

eval: $(STAMP)   # story part: the dev set, then the extra set (independent, written after tuning)
	$(BIN)/python -m bench.eval
	$(BIN)/python -m bench.eval_stories

check: $(STAMP)
	$(BIN)/python bot.py check --config config.yaml

lint: $(STAMP)
	$(BIN)/ruff check policybot tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
