-- The read API's push status counts (Treeherder's push/{id}/status/) group a
-- push's jobs by state and result. This index covers that query, so it reads
-- one index range instead of looking up each job row; ix_job_push stays for
-- the jobs list, which pages a push's jobs in id order.

-- +goose Up
CREATE INDEX ix_job_push_status ON job (push_id, state, result, tier, failure_classification_id);

-- +goose Down
DROP INDEX ix_job_push_status ON job;
