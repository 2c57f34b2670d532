# Hardening targets (see docs/security.md): long fuzzing and the 1 M-request soak.
.PHONY: fuzz soak

FUZZ_SECONDS ?= 60
SOAK_REQUESTS ?= 1000000

fuzz: build ## run every property fuzzer for FUZZ_SECONDS each (default 60; `make test` runs them ~2-4 s)
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(NODE) --test --test-concurrency=1 \
	  dist/test/fuzz/headers.test.js dist/test/fuzz/raw-requests.test.js \
	  dist/test/unit/normalize-path.test.js dist/test/unit/config-fuzz.test.js

soak: build ## drive SOAK_REQUESTS (default 1 M) mixed requests + reloads through Dito; assert no leak
	SOAK_REQUESTS=$(SOAK_REQUESTS) $(NODE) scripts/soak.mjs
