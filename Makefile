# Convenience targets; the README's two commands need none of them.

.PHONY: test ci bench bench-cel

test:
	go test ./...

ci:
	bash .ci/run

# aisoar against bare Temporal on one embedded server (see bench/main.go).
bench:
	go run ./bench -n 300 -k 5 -c 16 -rounds 4
	go run ./bench -n 300 -k 5 -c 16 -rounds 4 -auto-resolve 1s

# CEL evaluation and playbook validation micro-benchmarks.
bench-cel:
	go test ./playbooks -run '^$$' -bench . -benchtime 2s
