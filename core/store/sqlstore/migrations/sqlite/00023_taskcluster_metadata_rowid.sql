-- taskcluster_metadata's key was declared BIGINT PRIMARY KEY, which SQLite
-- keeps as a separate unique index beside the table's own rowid: every job
-- write inserted into three b-trees. As INTEGER PRIMARY KEY the job id is
-- the rowid itself, and the table is rebuilt once to make it so.
-- The MySQL migration of the same number has nothing to do.

-- +goose Up
CREATE TABLE taskcluster_metadata_new (
  job_id INTEGER PRIMARY KEY,
  task_id VARCHAR(22) NOT NULL,
  retry_id INT NOT NULL,
  CONSTRAINT fk_taskcluster_metadata_job FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE CASCADE
);
INSERT INTO taskcluster_metadata_new (job_id, task_id, retry_id)
  SELECT job_id, task_id, retry_id FROM taskcluster_metadata ORDER BY job_id;
DROP TABLE taskcluster_metadata;
ALTER TABLE taskcluster_metadata_new RENAME TO taskcluster_metadata;
CREATE INDEX ix_taskcluster_metadata_task ON taskcluster_metadata (task_id);

-- +goose Down
CREATE TABLE taskcluster_metadata_old (
  job_id BIGINT NOT NULL PRIMARY KEY,
  task_id VARCHAR(22) NOT NULL,
  retry_id INT NOT NULL,
  CONSTRAINT fk_taskcluster_metadata_job FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE CASCADE
);
INSERT INTO taskcluster_metadata_old (job_id, task_id, retry_id)
  SELECT job_id, task_id, retry_id FROM taskcluster_metadata ORDER BY job_id;
DROP TABLE taskcluster_metadata;
ALTER TABLE taskcluster_metadata_old RENAME TO taskcluster_metadata;
CREATE INDEX ix_taskcluster_metadata_task ON taskcluster_metadata (task_id);
