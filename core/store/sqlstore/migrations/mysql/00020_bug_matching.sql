-- Bug matching (docs/bugmatcher-notes.md): a case-insensitive search over
-- bug summaries, the suggestions stored per job, the 21-day counter of
-- error lines, the queue of jobs waiting to be matched, and small state the
-- scheduled jobs keep.

-- +goose Up
-- The summary is stored with a binary collation; searching a lowercased copy
-- the database keeps in step makes the full-text index and LIKE
-- case-insensitive without touching how summaries compare elsewhere.
ALTER TABLE bugscache
  DROP INDEX ft_bugscache_summary,
  ADD COLUMN summary_lc VARCHAR(255) AS (LOWER(summary)) STORED,
  ADD FULLTEXT KEY ft_bugscache_summary_lc (summary_lc),
  ADD KEY ix_bugscache_dupe_of (dupe_of);

-- One row per error line of a job: what the API's bug_suggestions serves.
-- bugs holds the suggested bugs' cache ids (with their Bugzilla ids, to
-- notice a reused id), open ones first; the rows are read back joined with
-- bugscache so statuses are current.
CREATE TABLE bug_suggestion (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  job_id BIGINT NOT NULL,
  line_number BIGINT NOT NULL,
  search TEXT NOT NULL,
  search_terms TEXT NOT NULL,
  path_end TEXT NULL,
  bugs TEXT NOT NULL,
  counter BIGINT NOT NULL DEFAULT 0,
  failure_new_in_rev BOOL NOT NULL DEFAULT FALSE,
  algorithm_version VARCHAR(32) NOT NULL DEFAULT '',
  created BIGINT NOT NULL,
  UNIQUE KEY uq_bug_suggestion (job_id, line_number),
  CONSTRAINT fk_bug_suggestion_job FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Jobs matched, with the rules' version and whether their lines were
-- counted already (a job is counted once, however often it is rematched).
CREATE TABLE bug_match_job (
  job_id BIGINT NOT NULL PRIMARY KEY,
  algorithm_version VARCHAR(32) NOT NULL,
  counted BOOL NOT NULL DEFAULT FALSE,
  matched BIGINT NOT NULL,
  CONSTRAINT fk_bug_match_job FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Treeherder's 21-day line cache: sightings of each normalised error line
-- per UTC day, and the revision that showed a line first on that day.
CREATE TABLE error_line_count (
  namespace VARCHAR(8) NOT NULL,
  line_hash CHAR(40) NOT NULL,
  day INT NOT NULL,
  count BIGINT NOT NULL DEFAULT 0,
  new_revision VARCHAR(64) NULL,
  PRIMARY KEY (namespace, line_hash, day),
  KEY ix_error_line_count_day (day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Work after a log is parsed: match a job's error lines (kind "suggest")
-- or check its test groups for intermittents (kind "intermittent").
CREATE TABLE bug_work (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  job_id BIGINT NOT NULL,
  kind VARCHAR(16) NOT NULL,
  job_log_id BIGINT NOT NULL DEFAULT 0,
  created BIGINT NOT NULL,
  claimed_until BIGINT NOT NULL DEFAULT 0,
  claim VARCHAR(32) NOT NULL DEFAULT '',
  attempts INT NOT NULL DEFAULT 0,
  KEY ix_bug_work_claimed (claimed_until, id),
  KEY ix_bug_work_claim (claim),
  CONSTRAINT fk_bug_work_job FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Small named values the scheduled jobs keep between runs (the generation
-- of pruned reference data, the last bug cache sync).
CREATE TABLE maintenance_state (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  value TEXT NOT NULL,
  updated BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE maintenance_state;
DROP TABLE bug_work;
DROP TABLE error_line_count;
DROP TABLE bug_match_job;
DROP TABLE bug_suggestion;
ALTER TABLE bugscache
  DROP INDEX ix_bugscache_dupe_of,
  DROP INDEX ft_bugscache_summary_lc,
  DROP COLUMN summary_lc,
  ADD FULLTEXT KEY ft_bugscache_summary (summary);
