# Two commands for a new user: `make run` (the full suite against the bundled mock) and `make test`
# (the project's own tests). Both set up whatever is missing first; `make setup` is idempotent.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian packages: node and npm by command (the image may bring its own), the rest by package
DEB_COMMANDS := node:nodejs npm:npm
# xmlsec1: pysaml2 signs through it; SimpleSAMLphp under PHP's built-in server (naming mini-httpd
# and php8.2-cgi keeps apache2 out); chromium: the browser Playwright drives (never `playwright install`)
DEB_PACKAGES := xmlsec1 simplesamlphp php8.2-cli php8.2-cgi php8.2-xml php8.2-mbstring mini-httpd chromium
OIDC_PROVIDER := fixtures/real/oidc-provider
SAMPLE_SPA := fixtures/apps/spa

.PHONY: setup run test lint bench clean
setup: $(VENV)/.installed node_modules/.installed $(OIDC_PROVIDER)/node_modules/.installed $(SAMPLE_SPA)/node_modules/.installed

$(VENV)/.installed: pyproject.toml | deb
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

node_modules/.installed: package-lock.json | deb
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(OIDC_PROVIDER)/node_modules/.installed: $(OIDC_PROVIDER)/package-lock.json | deb
	npm ci --prefix $(OIDC_PROVIDER) --no-audit --no-fund --loglevel=error
	touch $@

$(SAMPLE_SPA)/node_modules/.installed: $(SAMPLE_SPA)/package-lock.json | deb
	npm ci --prefix $(SAMPLE_SPA) --no-audit --no-fund --loglevel=error
	touch $@

.PHONY: deb
deb:
	@missing=""; for pair in $(DEB_COMMANDS); do \
	  command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair##*:}"; done; \
	for pkg in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "ok installed" || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

run: setup
	$(BIN)/logout-conformance run

test: setup lint
	$(BIN)/pytest -q -n auto --dist worksteal

lint: setup
	$(BIN)/ruff check harness mock_idp fixtures tests benchmarks
	$(BIN)/mypy harness mock_idp fixtures/apps

bench: setup
	$(BIN)/python benchmarks/suite.py
	$(BIN)/python benchmarks/fanout.py
	$(BIN)/python benchmarks/browser.py

clean:
	rm -rf $(VENV) node_modules $(OIDC_PROVIDER)/node_modules $(SAMPLE_SPA)/node_modules reports/latest
