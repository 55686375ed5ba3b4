-- ix_job_push_status (push_id, state, result, tier, ...) serves every lookup
-- by push that ix_job_push (push_id) did; keeping both cost every job write
-- one more index insert.

-- +goose Up
DROP INDEX ix_job_push ON job;

-- +goose Down
CREATE INDEX ix_job_push ON job (push_id);
