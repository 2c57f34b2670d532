# make bench: Dito against nginx, node-http-proxy, @fastify/http-proxy, a bare undici forwarder and the
# upstream direct (bench/run.mjs; docs/benchmark.md). BENCH_DURATION, BENCH_REPEATS, BENCH_CASES, ... pass through.
.PHONY: bench bench-lts bench-tools

BENCH_DEPS_STAMP := bench/node_modules/.package-lock.json

$(BENCH_DEPS_STAMP): bench/package.json bench/package-lock.json
	$(NPM) ci --prefix bench --no-audit --no-fund
	@touch $@

bench-tools: ## install wrk and nginx for the benchmark (apt-get) when missing
	@bash bench/ensure-tools.sh

bench: build bench-tools $(BENCH_DEPS_STAMP) ## benchmark Dito against nginx and Node proxies (~28 min; docs/benchmark.md)
	$(NODE) bench/run.mjs

bench-lts: build bench-tools $(BENCH_DEPS_STAMP) $(NODE_LTS) ## the same benchmark with every Node process on Node 24 LTS (results in bench/results/node-lts/)
	BENCH_OUT=$${BENCH_OUT:-bench/results/node-lts} $(NODE_LTS) bench/run.mjs
