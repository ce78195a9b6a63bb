.PHONY: dev test token bench

dev:  ## start the local stack on 127.0.0.1:3000
	./scripts/dev

test: ## the full suite, as CI runs it
	./scripts/test
