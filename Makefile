# Boxoffice: entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export BOXOFFICE_CACHE ?= /var/cache/boxoffice
export BOXOFFICE_RUN ?= $(CURDIR)/.run

.PHONY: help deps build test demo down bench cluster-up cluster-down images fmt lint

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

deps: ## install the system packages the project needs (apt-get; idempotent)
	@e2e/scripts/install-deps.sh

build: deps ## build every binary (release)
	cargo build --release --workspace --bins

lint: deps ## rustfmt and clippy, warnings are errors
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

test: lint ## every test: unit, integration against real PostgreSQL servers
	cargo test --workspace --no-fail-fast

demo: build ## start a shop on a local PostgreSQL and run a ticket rush against it
	@e2e/demo.sh

down: ## stop everything `make demo` started
	@e2e/demo.sh down

bench: build ## throughput beside alf.io, latency at 2,000 req/s, the rush at 4 sizes
	@e2e/bench.sh

cluster-up: ## build (once, cached) and start the local Kubernetes control plane
	@e2e/cluster/build.sh
	@e2e/cluster/up.sh

cluster-down: ## stop the local control plane
	@e2e/cluster/down.sh

images: deps ## build and inspect the container images (podman, FROM scratch; not part of `make test`)
	@e2e/scripts/images.sh

fmt: ## format the code
	cargo fmt --all
