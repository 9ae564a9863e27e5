# lnmp-init. `make help` lists the targets.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

PLATFORMS := linux/amd64 linux/arm64

.PHONY: help build test lint deps bench demo release clean image-base image-test image-build k8s-test

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## static binary in bin/lnmp-init
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/lnmp-init ./cmd/lnmp-init

deps: ## install nginx and php-fpm when missing (root)
	scripts/install-deps.sh

lint: ## gofmt and go vet, in the product module and the test module (test/)
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd test && $(GO) vet ./...

test: lint ## every test, with the race detector; integration tests need root
	@scripts/install-deps.sh || echo "make test: nginx/php-fpm missing and not root; integration tests will skip"
	$(GO) test -race -count=1 -timeout 30m ./...
	cd test && $(GO) test -race -count=1 ./...

bench: ## lnmp-init vs supervisord vs tini, each as PID 1, and child output through childlog (root)
	scripts/install-deps.sh --bench
	$(GO) test -run '^$$' -bench . -benchtime 2s ./childlog
	$(GO) run ./bench -runs 3

image-base: ## base image lnmp-base:test for the container tests: Debian 12 via mmdebstrap, no registry (root, docker)
	scripts/image-base.sh

# The test image's context is exactly the files it copies, sent as a tar: the
# root .dockerignore excludes bin/, and the legacy builder (Docker without
# buildx) ignores Dockerfile-specific ignore files.
image-build: build image-base ## build the test image lnmp-init-test:local on the mmdebstrap base (root, docker)
	tar -c test/image/Dockerfile examples bin/lnmp-init | docker build -q --label lnmp-init.image-test=1 -f test/image/Dockerfile -t lnmp-init-test:local -
	docker image prune -f --filter label=lnmp-init.image-test=1 >/dev/null # the previous build, now untagged

image-test: image-build ## build the test image, then the container tests against Docker (root, docker)
	cd test && LNMP_IMAGE_TEST=1 $(GO) test -count=1 -timeout 10m -v ./image/

# The cluster is taken down whatever the tests do: down runs from a trap, and
# its own failure (something not restored) fails the target too.
k8s-test: image-build ## single-node Kubernetes from source, the example manifests under load, then down (root, docker; ~25 min)
	scripts/install-deps.sh --k8s
	scripts/k8s/build
	@set -e; trap '$(CURDIR)/scripts/k8s/down || exit 1' EXIT; scripts/k8s/up; \
	  cd test && LNMP_K8S_TEST=1 LNMP_K8S_RUN=$${LNMP_K8S_RUN:-/var/lib/lnmp-init/k8s-run} \
	  LNMP_K8S_CACHE=$${LNMP_K8S_CACHE:-/var/cache/lnmp-init/k8s} \
	  $(GO) test -count=1 -timeout 40m -v ./k8s/

demo: ## serve examples/app on http://127.0.0.1:8080 under lnmp-init (root)
	scripts/demo.sh

release: ## static binaries for linux/amd64 and linux/arm64, with SHA256SUMS, in dist/
	rm -rf dist && mkdir -p dist
	for p in $(PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
	    -o dist/lnmp-init-$$os-$$arch ./cmd/lnmp-init || exit 1; \
	done
	cd dist && sha256sum lnmp-init-* > SHA256SUMS && cat SHA256SUMS

clean:
	rm -rf bin dist
