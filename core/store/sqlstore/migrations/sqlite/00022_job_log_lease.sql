-- See the MySQL migration of the same number.

-- +goose Up
ALTER TABLE job_log ADD COLUMN lease_owner TEXT NULL;
ALTER TABLE job_log ADD COLUMN lease_until INTEGER NULL;
ALTER TABLE job_log ADD COLUMN queued_at INTEGER NULL;
ALTER TABLE job_log ADD COLUMN parse_count INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE job_log DROP COLUMN lease_owner;
ALTER TABLE job_log DROP COLUMN lease_until;
ALTER TABLE job_log DROP COLUMN queued_at;
ALTER TABLE job_log DROP COLUMN parse_count;
