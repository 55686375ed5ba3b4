-- Push status counts; see the MySQL migration of the same number.

-- +goose Up
CREATE INDEX ix_job_push_status ON job (push_id, state, result, tier, failure_classification_id);

-- +goose Down
DROP INDEX ix_job_push_status;
