-- Jobs waiting for their push; see the MySQL migration of the same number.

-- +goose Up
CREATE TABLE parked_job (
  id INTEGER PRIMARY KEY,
  repository_id BIGINT NOT NULL,
  revision VARCHAR(40) NOT NULL,
  guid VARCHAR(50) NOT NULL,
  source VARCHAR(100) NOT NULL,
  parked BIGINT NOT NULL,
  payload BLOB NOT NULL
);
CREATE INDEX ix_parked_job_repo_revision ON parked_job (repository_id, revision);
CREATE INDEX ix_parked_job_parked ON parked_job (parked);

-- +goose Down
DROP TABLE parked_job;
