-- Bug matching; see the MySQL migration of the same number.

-- +goose Up
-- A trigram index answers case-insensitive substring searches over bug
-- summaries; triggers keep it in step with bugscache whoever writes there.
CREATE VIRTUAL TABLE bugscache_fts USING fts5(summary, content='bugscache', content_rowid='id', tokenize='trigram');

-- +goose StatementBegin
CREATE TRIGGER bugscache_fts_insert AFTER INSERT ON bugscache BEGIN
  INSERT INTO bugscache_fts (rowid, summary) VALUES (new.id, new.summary);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER bugscache_fts_delete AFTER DELETE ON bugscache BEGIN
  INSERT INTO bugscache_fts (bugscache_fts, rowid, summary) VALUES ('delete', old.id, old.summary);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER bugscache_fts_update AFTER UPDATE OF summary ON bugscache BEGIN
  INSERT INTO bugscache_fts (bugscache_fts, rowid, summary) VALUES ('delete', old.id, old.summary);
  INSERT INTO bugscache_fts (rowid, summary) VALUES (new.id, new.summary);
END;
-- +goose StatementEnd

INSERT INTO bugscache_fts (bugscache_fts) VALUES ('rebuild');
CREATE INDEX ix_bugscache_dupe_of ON bugscache (dupe_of);

CREATE TABLE bug_suggestion (
  id INTEGER PRIMARY KEY,
  job_id BIGINT NOT NULL REFERENCES job (id) ON DELETE CASCADE,
  line_number BIGINT NOT NULL,
  search TEXT NOT NULL,
  search_terms TEXT NOT NULL,
  path_end TEXT NULL,
  bugs TEXT NOT NULL,
  counter BIGINT NOT NULL DEFAULT 0,
  failure_new_in_rev INTEGER NOT NULL DEFAULT 0,
  algorithm_version VARCHAR(32) NOT NULL DEFAULT '',
  created BIGINT NOT NULL,
  CONSTRAINT uq_bug_suggestion UNIQUE (job_id, line_number)
);

CREATE TABLE bug_match_job (
  job_id BIGINT NOT NULL PRIMARY KEY REFERENCES job (id) ON DELETE CASCADE,
  algorithm_version VARCHAR(32) NOT NULL,
  counted INTEGER NOT NULL DEFAULT 0,
  matched BIGINT NOT NULL
);

CREATE TABLE error_line_count (
  namespace VARCHAR(8) NOT NULL,
  line_hash CHAR(40) NOT NULL,
  day INT NOT NULL,
  count BIGINT NOT NULL DEFAULT 0,
  new_revision VARCHAR(64) NULL,
  PRIMARY KEY (namespace, line_hash, day)
);
CREATE INDEX ix_error_line_count_day ON error_line_count (day);

CREATE TABLE bug_work (
  id INTEGER PRIMARY KEY,
  job_id BIGINT NOT NULL REFERENCES job (id) ON DELETE CASCADE,
  kind VARCHAR(16) NOT NULL,
  job_log_id BIGINT NOT NULL DEFAULT 0,
  created BIGINT NOT NULL,
  claimed_until BIGINT NOT NULL DEFAULT 0,
  claim VARCHAR(32) NOT NULL DEFAULT '',
  attempts INT NOT NULL DEFAULT 0
);
CREATE INDEX ix_bug_work_claimed ON bug_work (claimed_until, id);
CREATE INDEX ix_bug_work_claim ON bug_work (claim);
CREATE INDEX ix_bug_work_job ON bug_work (job_id);

-- Data cycling deletes unused test groups and platforms; SQLite checks the
-- foreign keys pointing at them through these (MySQL indexes foreign keys
-- by itself).
CREATE INDEX ix_group_status_group ON group_status (group_id);
CREATE INDEX ix_performance_signature_platform ON performance_signature (platform_id);

CREATE TABLE maintenance_state (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  value TEXT NOT NULL,
  updated BIGINT NOT NULL
);

-- +goose Down
DROP INDEX ix_performance_signature_platform;
DROP INDEX ix_group_status_group;
DROP TABLE maintenance_state;
DROP TABLE bug_work;
DROP TABLE error_line_count;
DROP TABLE bug_match_job;
DROP TABLE bug_suggestion;
DROP INDEX ix_bugscache_dupe_of;
DROP TRIGGER bugscache_fts_update;
DROP TRIGGER bugscache_fts_delete;
DROP TRIGGER bugscache_fts_insert;
DROP TABLE bugscache_fts;
