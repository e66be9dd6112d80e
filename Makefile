# Two commands on a fresh machine with Python 3.10+ and make:
#   make demo   set up .venv, install orgtrust-lint, lint the shipped fixtures/
#   make test   set up .venv with the test extras, run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# What `make lint` checks and `make format` rewrites: the same directories, always.
SOURCES := orgtrust_lint tests bench scripts

.PHONY: demo test install lint format docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Dependencies are installed once per pyproject.toml change; the package itself is
# reinstalled (non-editable, as users get it) on every run so tests exercise the wheel.
# The wheelhouse holds the runtime dependencies as wheels, so that the pre-commit tests can build
# their hook environment without the network (PIP_NO_INDEX, PIP_FIND_LINKS) once this has run.
$(VENV)/.deps-stamp: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet '.[test]'
	$(BIN)/python -m pip wheel --quiet --wheel-dir $(VENV)/wheelhouse . setuptools wheel
	rm -f $(VENV)/wheelhouse/orgtrust_lint-*.whl
	touch $@

install: $(VENV)/.deps-stamp
	$(BIN)/python -m pip install --quiet --no-deps --force-reinstall .

demo: install
	@echo "== orgtrust-lint rules =="
	@$(BIN)/orgtrust-lint rules
	@echo
	@echo "== orgtrust-lint check fixtures/ (exit code 1 means findings were reported) =="
	@$(BIN)/orgtrust-lint check fixtures/ ; test $$? -eq 1
	@echo
	@echo "== one configuration on its own: integrations that rely on trusted access (OT301) =="
	@$(BIN)/orgtrust-lint check fixtures/terraform/integrations ; test $$? -eq 1
	@echo
	@echo "== a Terraform plan that disables Config while the aggregator stays (OT301, OT302) =="
	@$(BIN)/orgtrust-lint check --plan fixtures/plans/remove-config-keep-aggregator.json --ignore OT105 ; test $$? -eq 1
	@echo
	@echo "== the same checks inside cfn-lint, on a CloudFormation example =="
	@$(BIN)/cfn-lint --append-rules orgtrust_lint.cfnlint_plugin -- fixtures/cloudformation/iam-policies.yaml ; true
	@echo
	@echo "== live drift against a local moto organization (no AWS account needed) =="
	@$(BIN)/python scripts/demo_drift.py ; test $$? -eq 1
	@echo
	@echo "== the same, as JSON (first finding) =="
	@$(BIN)/orgtrust-lint check fixtures/terraform/org-typos --format json | head -n 20 ; true
	@echo
	@echo "== orgtrust-lint explain OT101 =="
	@$(BIN)/orgtrust-lint explain OT101

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/mypy

format: install
	$(BIN)/ruff format $(SOURCES)
	$(BIN)/ruff check --fix $(SOURCES)

# Benchmarks are run by hand, never by CI: peers are installed in their own venvs under bench/.
# BENCH_BEFORE: the revision timed beside this one (1abb5f5: before the evaluator and the module graph).
BENCH_BEFORE ?= 1abb5f5
bench: install
	test -x bench/venvs/checkov/bin/checkov || (python3 -m venv bench/venvs/checkov && bench/venvs/checkov/bin/pip install --quiet checkov)
	test -x bench/venvs/cfn-lint/bin/cfn-lint || (python3 -m venv bench/venvs/cfn-lint && bench/venvs/cfn-lint/bin/pip install --quiet cfn-lint)
	$(BIN)/python bench/run.py --before $(BENCH_BEFORE)

docs: install
	$(BIN)/python scripts/generate_rule_docs.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
