# Two commands for a newcomer: `make up` (the local stack, built and running behind the gateway) and
# `make test` (a separate, fresh stack, every test, then torn down). See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

STACK_SCRIPT := deploy/local/stack.sh
# The test stack has its own ports and state (deploy/local/stacks.sh), so it can run while
# `make up`'s stack is up.
TEST_STACK := STACK=test

.PHONY: help build up down clean logs status test bench lint fmt schema backup restore failover rejoin

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

build: ## Build every service binary (debug)
	cargo build --workspace --bins

up: build ## Start PostgreSQL, Redis, the services and the gateway on :8080 (installs what is missing)
	$(STACK_SCRIPT) up

down: ## Stop what `make up` started (keeps the data)
	$(STACK_SCRIPT) down

clean: ## Stop everything and remove the local state (both stacks)
	$(STACK_SCRIPT) clean
	$(TEST_STACK) $(STACK_SCRIPT) clean

logs: ## Where the logs are; Q=<request id, trace id or text> searches every log, FOLLOW=1 follows them
	@$(STACK_SCRIPT) logs $(if $(FOLLOW),--follow) $(if $(Q),'$(Q)')

status: ## Which processes of the stack run and answer (zombies and hung ones are not running)
	@$(STACK_SCRIPT) status

backup: ## A verified base backup of the stack's PostgreSQL (into BACKUP_DIR or .state/dev/backups)
	deploy/local/backup.sh backup

restore: ## Restore the stack's PostgreSQL: the latest state, or AT="2026-11-30 14:05:00+00"
	deploy/local/backup.sh restore "$(AT)"

failover: ## Promote a PostgreSQL replica (stops the primary first if it still runs); the services follow it
	$(STACK_SCRIPT) failover

rejoin: ## Make the replaced primary a replica of the new one (pg_rewind, else a fresh base backup)
	$(STACK_SCRIPT) rejoin

test: ## Fresh test stack, then unit, integration and end-to-end tests; always torn down
	$(TEST_STACK) deploy/local/test.sh

bench: ## The machine's limits, then load through the gateway with ratios (see README)
	deploy/bench/bench.sh

lint: ## rustfmt, clippy, and rustdoc's warnings (broken or private intra-doc links)
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

fmt: ## Format the code
	cargo fmt --all

schema: ## Regenerate crates/db/src/schema.rs from the migrations (needs the dev stack)
	deploy/local/schema.sh write
