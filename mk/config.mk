# Configuration loader targets (see docs/configuration.md).
.PHONY: schema

schema: build ## regenerate schema/dito.config.schema.json from the zod schema
	$(NODE) dist/src/config/write-json-schema.js schema/dito.config.schema.json
