// Package faults holds herder's scale-out fault suite and end-to-end
// benchmark (issue 10). They run herder as separate OS processes (web +
// scheduler, ingest, workers) against the MariaDB and RabbitMQ that
// scripts/services.sh starts, feed them Pulse task messages through a fake
// Taskcluster, and check what the database and the queues hold afterwards.
//
// Everything is in test files behind the build tag "faults", so a plain
// `go test ./...` skips it:
//
//	make test-faults   # go test -tags faults -run TestFaults ./internal/faults
//	make bench-e2e     # go test -tags faults -run '^$' -bench E2E -benchtime 1x ./internal/faults
//
// The suite restarts the shared RabbitMQ and kills the shared MariaDB, so
// other tests using those services at the same time will see the outage.
package faults
