# Signed plugins: development and production keys, building and signing the plugins in plugins/,
# and pointing a config at them. See docs/plugins.md. NODE, build and install come from the Makefile.

.PHONY: generate-keys build-plugins sign-plugins update-config clean-plugins \
        setup-prod generate-prod-keys sign-plugins-prod update-prod-config

KEYS_DIR ?= keys
DEV_PRIVATE_KEY = $(KEYS_DIR)/ed25519_private.key
DEV_PUBLIC_KEY = $(KEYS_DIR)/ed25519_public.key
PLUGINS_OUT ?= bin/plugins
CONFIG ?= bin/config.yaml
# Production keys never live in the checkout: it gets copied, packaged and pushed.
PROD_KEYS_DIR ?= $(HOME)/.dito/keys
PROD_PRIVATE_KEY = $(PROD_KEYS_DIR)/ed25519_private.key
PROD_PUBLIC_KEY = $(PROD_KEYS_DIR)/ed25519_public.key
PROD_CONFIG ?= bin/config-prod.yaml
PLUGIN_SIGNER = $(NODE) bin/plugin-signer

# $(call make-key-pair,<dir>,<private>,<public>): creates the pair unless both files exist;
# one file without the other is an error rather than a silent replacement of a key in use.
define make-key-pair
	@if [ -f "$(2)" ] && [ -f "$(3)" ]; then \
	  echo "keys present: $(3) (left unchanged)"; \
	elif [ -f "$(2)" ] || [ -f "$(3)" ]; then \
	  echo "only one of $(2) and $(3) exists: restore the other or remove it" >&2; exit 1; \
	else \
	  mkdir -p "$(1)" && chmod 700 "$(1)" && \
	  $(PLUGIN_SIGNER) generate-keys -privateKey "$(2)" -publicKey "$(3)"; \
	fi
endef

generate-keys: build ## development Ed25519 keys in keys/ (only if absent)
	$(call make-key-pair,$(KEYS_DIR),$(DEV_PRIVATE_KEY),$(DEV_PUBLIC_KEY))

build-plugins: build ## bundle each plugins/<name> into bin/plugins/<name>/<name>.mjs
	$(NODE) scripts/build-plugins.mjs --out $(PLUGINS_OUT)

sign-plugins: build-plugins generate-keys ## sign the built plugins with the development key
	$(NODE) scripts/sign-plugins.mjs --dir $(PLUGINS_OUT) --privateKey $(DEV_PRIVATE_KEY)

update-config: generate-keys ## set plugins.directory, public_key_path and public_key_hash in bin/config.yaml
	$(NODE) scripts/update-config.mjs $(CONFIG) --directory $(PLUGINS_OUT) --publicKey $(DEV_PUBLIC_KEY)

clean-plugins: ## remove the built plugins (bin/plugins)
	rm -rf $(PLUGINS_OUT)

# Resolves PROD_KEYS_DIR (which may not exist yet) through symlinks and refuses any place inside
# the repository.
define check-prod-keys-dir
	@resolve() { d="$$1"; rest=""; while [ ! -d "$$d" ]; do rest="/$$(basename "$$d")$$rest"; d="$$(dirname "$$d")"; done; \
	  echo "$$(cd "$$d" && pwd -P)$$rest"; }; \
	case "/$(PROD_KEYS_DIR)/" in */../*) echo "PROD_KEYS_DIR=$(PROD_KEYS_DIR): write it without '..'" >&2; exit 1;; esac; \
	keys="$$(resolve "$(PROD_KEYS_DIR)")"; repo="$$(cd "$(CURDIR)" && pwd -P)"; \
	case "$$keys/" in "$$repo"/*) \
	  echo "PROD_KEYS_DIR=$(PROD_KEYS_DIR) is inside the repository ($$repo): production keys must live outside it" >&2; \
	  exit 1;; esac
endef

generate-prod-keys: build ## production keys in PROD_KEYS_DIR (default ~/.dito/keys, never in the repo; only if absent)
	$(check-prod-keys-dir)
	$(call make-key-pair,$(PROD_KEYS_DIR),$(PROD_PRIVATE_KEY),$(PROD_PUBLIC_KEY))

sign-plugins-prod: build-plugins generate-prod-keys ## sign the built plugins with the production key
	$(NODE) scripts/sign-plugins.mjs --dir $(PLUGINS_OUT) --privateKey $(PROD_PRIVATE_KEY)

update-prod-config: generate-prod-keys ## point bin/config-prod.yaml at the plugins and the production public key
	$(NODE) scripts/update-config.mjs $(PROD_CONFIG) --directory $(PLUGINS_OUT) --publicKey $(PROD_PUBLIC_KEY)

setup-prod: sign-plugins-prod update-prod-config ## production setup: prod keys, plugins signed with them, prod config
