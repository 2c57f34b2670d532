# Deployment targets: container image, Kubernetes config rendering, OpenShift deploy/status/logs/clean,
# and debug-config. See docs/deployment.md. Key and plugin targets live in mk/plugins.mk.

.PHONY: update-k8s-config deploy-ocp deploy-ocp-dev status-ocp logs-ocp clean-ocp debug-config docker-build

K8S_TEMPLATE ?= configs/templates/application.yaml
K8S_CONFIG ?= configs/config-prod-k8s.yaml
OCP_NAMESPACE ?= dito
OCP_DEV_NAMESPACE ?= dito-dev
OC ?= oc
IMAGE ?= dito
VERSION ?= $(shell sed -n 's/^  "version": "\(.*\)",$$/\1/p' package.json)
DOCKER ?= docker
# The config debug-config explains (CONFIG comes from mk/plugins.mk: bin/config.yaml).
DEBUG_CONFIG ?= $(CONFIG)

update-k8s-config: generate-prod-keys ## render configs/config-prod-k8s.yaml from configs/templates/application.yaml with the prod key's hash
	bash scripts/render-k8s-config.sh $(K8S_TEMPLATE) $(PROD_PUBLIC_KEY) $(K8S_CONFIG)

deploy-ocp: ## OpenShift production deploy: prod keys, signed plugins, config, Secret, Redis, manifests (scripts/deploy-ocp.sh)
	OC=$(OC) PROD_KEYS_DIR=$(PROD_KEYS_DIR) K8S_CONFIG=$(abspath $(K8S_CONFIG)) \
	  bash scripts/deploy-ocp.sh -n $(OCP_NAMESPACE) -v $(VERSION)

deploy-ocp-dev: ## quick OpenShift development deploy: dev keys, one replica, project OCP_DEV_NAMESPACE (dito-dev)
	OC=$(OC) K8S_CONFIG=$(abspath $(K8S_CONFIG)) bash scripts/deploy-ocp.sh --dev -n $(OCP_DEV_NAMESPACE) -v $(VERSION)

status-ocp: ## OpenShift status: pods, deployment, route, HPA, PDB, recent events of the project
	$(OC) get deployment,pods,service,route,hpa,pdb -n $(OCP_NAMESPACE) -l app.kubernetes.io/name=dito -o wide
	$(OC) get pods -n $(OCP_NAMESPACE) -l app.kubernetes.io/name=dito-redis -o wide
	$(OC) get events -n $(OCP_NAMESPACE) --sort-by=.lastTimestamp | tail -n 15

logs-ocp: ## follow the logs of every Dito pod (JSON lines) in OCP_NAMESPACE
	$(OC) logs -n $(OCP_NAMESPACE) -l app.kubernetes.io/name=dito --all-containers --prefix -f --tail=100 --max-log-requests=20

clean-ocp: ## delete Dito's OpenShift resources (Deployment, Service, Route, HPA, PDB, Redis, ConfigMap, Secret); keeps the project
	$(OC) delete -n $(OCP_NAMESPACE) --ignore-not-found -f deployments/openshift/production-deployment.yaml
	$(OC) delete -n $(OCP_NAMESPACE) --ignore-not-found -f deployments/openshift/redis.yaml
	$(OC) delete -n $(OCP_NAMESPACE) --ignore-not-found configmap/dito-config secret/dito-plugin-public-key

debug-config: build ## print the effective config (DEBUG_CONFIG, default bin/config.yaml): defaults applied, secrets masked, file:line of each value
	$(NODE) dist/src/cli/debug-config.js -f $(DEBUG_CONFIG)

docker-build: ## build the container image IMAGE:VERSION (needs a Docker engine; run make sign-plugins-prod first to ship plugins)
	@if [ ! -d $(PLUGINS_OUT) ]; then \
	  echo "note: no $(PLUGINS_OUT): the image ships without plugins (make sign-plugins-prod first to include them)"; fi
	$(DOCKER) build --target runtime -t $(IMAGE):$(VERSION) .
