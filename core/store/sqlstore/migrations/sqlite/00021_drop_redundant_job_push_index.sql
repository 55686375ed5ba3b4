-- See the MySQL migration of the same number.

-- +goose Up
DROP INDEX ix_job_push;

-- +goose Down
CREATE INDEX ix_job_push ON job (push_id);
