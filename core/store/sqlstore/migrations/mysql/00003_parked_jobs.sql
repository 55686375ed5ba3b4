-- Jobs whose push is not stored yet wait here, durably, until it is: the
-- source can acknowledge them upstream at once, and nothing is dropped.

-- +goose Up
CREATE TABLE parked_job (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  repository_id BIGINT NOT NULL,
  revision VARCHAR(40) NOT NULL,
  guid VARCHAR(50) NOT NULL,
  source VARCHAR(100) NOT NULL,
  parked BIGINT NOT NULL,
  payload LONGBLOB NOT NULL,
  KEY ix_parked_job_repo_revision (repository_id, revision),
  KEY ix_parked_job_parked (parked)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE parked_job;
