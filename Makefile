# Convenience targets; the README's two commands need none of them.

.PHONY: test ci bench bench-ingest bench-cel

test:
	go test ./...

ci:
	bash .ci/run

# aisoar against bare Temporal on one embedded server (see bench/main.go).
bench:
	go run ./bench -n 300 -k 5 -c 16 -rounds 4
	go run ./bench -n 300 -k 5 -c 16 -rounds 4 -auto-resolve 1s

# The webhook under a burst of one alert and a flood of distinct ones.
bench-ingest:
	go run ./bench/ingest -n 10000 -c 32

# CEL evaluation and playbook validation micro-benchmarks.
bench-cel:
	go test ./playbooks -run '^$$' -bench . -benchtime 2s
