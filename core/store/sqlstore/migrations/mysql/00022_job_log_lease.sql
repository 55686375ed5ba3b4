-- Several worker processes may be handed the same log (a redelivered queue
-- message, a sweep that republishes a log still queued): a lease in the row
-- lets exactly one of them parse it, and parse_count lets operators (and the
-- fault suite) see that each log was parsed once per algorithm version.
-- queued_at tells the scheduler's sweep which pending logs were never queued.

-- +goose Up
ALTER TABLE job_log
  ADD COLUMN lease_owner VARCHAR(64) NULL,
  ADD COLUMN lease_until BIGINT NULL,
  ADD COLUMN queued_at BIGINT NULL,
  ADD COLUMN parse_count INT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE job_log
  DROP COLUMN lease_owner,
  DROP COLUMN lease_until,
  DROP COLUMN queued_at,
  DROP COLUMN parse_count;
