# The README's two commands: `make demo` (set up and run the main job) and
# `make test` (set up and run lint, type check and the tests).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup sysdeps demo test lint typecheck pytest bench reliability clean

# (Re)creates the virtualenv when pyproject.toml changes. torch is installed first, pinned,
# so that the `bench` and `integrations` extras find it satisfied (a plain `torch` may pull
# a multi-GB CUDA build).
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,bench,postgres,fleet,report,integrations]'
	touch $(STAMP)

setup: $(STAMP)

sysdeps:
	bash .ci/sysdeps

demo: sysdeps setup
	$(VENV)/bin/greenai demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: setup
	$(VENV)/bin/mypy greenai collectors dashboard benchmarks

pytest: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test: sysdeps setup lint typecheck pytest

bench: sysdeps setup
	$(PY) -m benchmarks
	ORACLE_PROFILE=deep $(PY) -m pytest -q tests/tracking/test_oracle.py

# The reliability suite at full size; its results go to tests/reliability/results.json and
# the README's Reliability section (fails when a case fails or a run is lost).
reliability: sysdeps setup
	mkdir -p artifacts
	rm -f artifacts/reliability.jsonl
	RELIABILITY_SIZE=full RELIABILITY_RESULTS=$(CURDIR)/artifacts/reliability.jsonl \
		$(PY) -m pytest -q tests/reliability --junitxml=artifacts/reliability.xml \
		--ignore tests/reliability/test_readme_section.py; \
		status=$$?; $(PY) -m tests.reliability.summary artifacts/reliability.xml \
		artifacts/reliability.jsonl && exit $$status

clean:
	rm -rf $(VENV) artifacts .mypy_cache .ruff_cache .pytest_cache
