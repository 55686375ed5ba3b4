-- Treeherder's data model (treeherder/model/models.py), BIGINT ids throughout.
-- Times are stored as unix seconds (BIGINT) and last_modified as unix
-- microseconds: the API speaks unix seconds, and integers compare and index
-- the same way on MySQL and SQLite.

-- +goose Up
CREATE TABLE repository_group (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  description TEXT NOT NULL,
  UNIQUE KEY uq_repository_group_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE repository (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  repository_group_id BIGINT NOT NULL,
  name VARCHAR(50) NOT NULL,
  dvcs_type VARCHAR(25) NOT NULL,
  url VARCHAR(255) NOT NULL,
  codebase VARCHAR(50) NOT NULL DEFAULT '',
  description TEXT NOT NULL,
  active_status VARCHAR(7) NOT NULL DEFAULT 'active',
  life_cycle_order INT NULL,
  performance_alerts_enabled BOOL NOT NULL DEFAULT FALSE,
  expire_performance_data BOOL NOT NULL DEFAULT TRUE,
  is_try_repo BOOL NOT NULL DEFAULT FALSE,
  tc_root_url VARCHAR(255) NOT NULL DEFAULT '',
  accepts_pull_requests BOOL NOT NULL DEFAULT FALSE,
  UNIQUE KEY uq_repository_name (name),
  KEY ix_repository_url_status (url, active_status),
  CONSTRAINT fk_repository_group FOREIGN KEY (repository_group_id) REFERENCES repository_group (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE repository_branch (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  repository_id BIGINT NOT NULL,
  branch VARCHAR(255) NOT NULL,
  UNIQUE KEY uq_repository_branch (repository_id, branch),
  CONSTRAINT fk_repository_branch_repo FOREIGN KEY (repository_id) REFERENCES repository (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE push (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  repository_id BIGINT NOT NULL,
  revision VARCHAR(40) NOT NULL,
  author VARCHAR(150) NOT NULL,
  time BIGINT NOT NULL,
  branch VARCHAR(255) NULL,
  UNIQUE KEY uq_push_repo_revision (repository_id, revision),
  KEY ix_push_revision (revision),
  KEY ix_push_repo_time (repository_id, time),
  CONSTRAINT fk_push_repository FOREIGN KEY (repository_id) REFERENCES repository (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `commit` (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  push_id BIGINT NOT NULL,
  revision VARCHAR(40) NOT NULL,
  author VARCHAR(150) NOT NULL,
  comments TEXT NOT NULL,
  UNIQUE KEY uq_commit_push_revision (push_id, revision),
  KEY ix_commit_revision (revision),
  CONSTRAINT fk_commit_push FOREIGN KEY (push_id) REFERENCES push (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE product (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  UNIQUE KEY uq_product_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE machine (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  UNIQUE KEY uq_machine_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `option` (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  UNIQUE KEY uq_option_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE option_collection (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  option_collection_hash VARCHAR(40) NOT NULL,
  option_id BIGINT NOT NULL,
  UNIQUE KEY uq_option_collection (option_collection_hash, option_id),
  CONSTRAINT fk_option_collection_option FOREIGN KEY (option_id) REFERENCES `option` (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE build_platform (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  os_name VARCHAR(25) NOT NULL,
  platform VARCHAR(100) NOT NULL,
  architecture VARCHAR(25) NOT NULL,
  UNIQUE KEY uq_build_platform (os_name, platform, architecture),
  KEY ix_build_platform_platform (platform)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE machine_platform (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  os_name VARCHAR(25) NOT NULL,
  platform VARCHAR(100) NOT NULL,
  architecture VARCHAR(25) NOT NULL,
  UNIQUE KEY uq_machine_platform (os_name, platform, architecture),
  KEY ix_machine_platform_platform (platform)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE job_type (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  symbol VARCHAR(25) NOT NULL DEFAULT '?',
  name VARCHAR(140) NOT NULL,
  description TEXT NOT NULL,
  UNIQUE KEY uq_job_type (name, symbol)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE job_group (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  symbol VARCHAR(25) NOT NULL DEFAULT '?',
  name VARCHAR(255) NOT NULL,
  description TEXT NOT NULL,
  UNIQUE KEY uq_job_group (name, symbol)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE failure_classification (
  id BIGINT NOT NULL PRIMARY KEY,
  name VARCHAR(50) NOT NULL,
  UNIQUE KEY uq_failure_classification_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE reference_data_signatures (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  signature VARCHAR(50) NOT NULL,
  build_os_name VARCHAR(25) NOT NULL,
  build_platform VARCHAR(100) NOT NULL,
  build_architecture VARCHAR(25) NOT NULL,
  machine_os_name VARCHAR(25) NOT NULL,
  machine_platform VARCHAR(100) NOT NULL,
  machine_architecture VARCHAR(25) NOT NULL,
  job_group_name VARCHAR(255) NOT NULL,
  job_group_symbol VARCHAR(25) NOT NULL,
  job_type_name VARCHAR(140) NOT NULL,
  job_type_symbol VARCHAR(25) NOT NULL,
  option_collection_hash VARCHAR(64) NOT NULL,
  build_system_type VARCHAR(25) NOT NULL,
  repository VARCHAR(50) NOT NULL,
  first_submission_timestamp BIGINT NOT NULL,
  UNIQUE KEY uq_reference_data_signature (name, signature, build_system_type, repository),
  KEY ix_reference_data_signature (signature)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE `user` (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  username VARCHAR(150) NOT NULL,
  email VARCHAR(254) NOT NULL DEFAULT '',
  is_staff BOOL NOT NULL DEFAULT FALSE,
  is_superuser BOOL NOT NULL DEFAULT FALSE,
  created BIGINT NOT NULL,
  UNIQUE KEY uq_user_username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE job (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  guid VARCHAR(50) NOT NULL,
  repository_id BIGINT NOT NULL,
  push_id BIGINT NOT NULL,
  signature_id BIGINT NOT NULL,
  build_platform_id BIGINT NOT NULL,
  machine_platform_id BIGINT NOT NULL,
  machine_id BIGINT NOT NULL,
  option_collection_hash VARCHAR(64) NOT NULL,
  job_type_id BIGINT NOT NULL,
  job_group_id BIGINT NOT NULL,
  product_id BIGINT NOT NULL,
  failure_classification_id BIGINT NOT NULL DEFAULT 1,
  who VARCHAR(50) NOT NULL,
  reason VARCHAR(125) NOT NULL,
  result VARCHAR(25) NOT NULL,
  state VARCHAR(25) NOT NULL,
  submit_time BIGINT NOT NULL,
  start_time BIGINT NOT NULL,
  end_time BIGINT NOT NULL,
  last_modified BIGINT NOT NULL,
  tier INT NOT NULL DEFAULT 1,
  -- Indexes serve the API's reads (jobs of a push, polling by last_modified,
  -- similar jobs) and data cycling; each one costs every job write.
  UNIQUE KEY uq_job_guid (guid),
  KEY ix_job_repo_submit (repository_id, submit_time),
  KEY ix_job_repo_type_push (repository_id, job_type_id, push_id),
  KEY ix_job_push (push_id),
  KEY ix_job_last_modified (last_modified),
  CONSTRAINT fk_job_repository FOREIGN KEY (repository_id) REFERENCES repository (id),
  CONSTRAINT fk_job_push FOREIGN KEY (push_id) REFERENCES push (id),
  CONSTRAINT fk_job_failure_classification FOREIGN KEY (failure_classification_id) REFERENCES failure_classification (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE taskcluster_metadata (
  job_id BIGINT NOT NULL PRIMARY KEY,
  task_id VARCHAR(22) NOT NULL,
  retry_id INT NOT NULL,
  KEY ix_taskcluster_metadata_task (task_id),
  CONSTRAINT fk_taskcluster_metadata_job FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- status: 0 pending, 1 parsed, 2 failed, 3 skipped-size (Treeherder's), and
-- status_reason / algorithm_version so a failure has a reason and a result
-- can be recomputed when the parser changes.
CREATE TABLE job_log (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  job_id BIGINT NOT NULL,
  name VARCHAR(50) NOT NULL,
  url VARCHAR(255) NOT NULL,
  status SMALLINT NOT NULL DEFAULT 0,
  status_reason VARCHAR(255) NOT NULL DEFAULT '',
  algorithm_version VARCHAR(32) NOT NULL DEFAULT '',
  UNIQUE KEY uq_job_log (job_id, name, url),
  KEY ix_job_log_status (status),
  CONSTRAINT fk_job_log_job FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE job_note (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  job_id BIGINT NOT NULL,
  failure_classification_id BIGINT NOT NULL,
  user_id BIGINT NULL,
  text TEXT NOT NULL,
  created BIGINT NOT NULL,
  KEY ix_job_note_job (job_id),
  CONSTRAINT fk_job_note_job FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE CASCADE,
  CONSTRAINT fk_job_note_fc FOREIGN KEY (failure_classification_id) REFERENCES failure_classification (id),
  CONSTRAINT fk_job_note_user FOREIGN KEY (user_id) REFERENCES `user` (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE bugscache (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  bugzilla_id BIGINT NULL,
  status VARCHAR(64) NOT NULL DEFAULT '',
  resolution VARCHAR(64) NOT NULL DEFAULT '',
  summary VARCHAR(255) NOT NULL,
  dupe_of BIGINT NULL,
  crash_signature TEXT NOT NULL,
  keywords TEXT NOT NULL,
  modified BIGINT NOT NULL,
  whiteboard VARCHAR(100) NOT NULL DEFAULT '',
  processed_update BOOL NOT NULL DEFAULT TRUE,
  UNIQUE KEY uq_bugscache_bugzilla_id (bugzilla_id),
  KEY ix_bugscache_modified (modified),
  FULLTEXT KEY ft_bugscache_summary (summary)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE bug_job_map (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  job_id BIGINT NOT NULL,
  bug_id BIGINT NOT NULL,
  user_id BIGINT NULL,
  created BIGINT NOT NULL,
  bug_open BOOL NOT NULL DEFAULT FALSE,
  UNIQUE KEY uq_bug_job_map (job_id, bug_id),
  KEY ix_bug_job_map_bug (bug_id, created),
  CONSTRAINT fk_bug_job_map_job FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE CASCADE,
  CONSTRAINT fk_bug_job_map_bug FOREIGN KEY (bug_id) REFERENCES bugscache (id) ON DELETE CASCADE,
  CONSTRAINT fk_bug_job_map_user FOREIGN KEY (user_id) REFERENCES `user` (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE text_log_error (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  job_id BIGINT NULL,
  line TEXT NOT NULL,
  line_number BIGINT NOT NULL,
  new_failure BOOL NOT NULL DEFAULT FALSE,
  UNIQUE KEY uq_text_log_error (job_id, line_number),
  CONSTRAINT fk_text_log_error_job FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE classified_failure (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  bug_number BIGINT NULL,
  created BIGINT NOT NULL,
  modified BIGINT NOT NULL,
  UNIQUE KEY uq_classified_failure_bug (bug_number)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE failure_line (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  job_guid VARCHAR(50) NOT NULL,
  repository_id BIGINT NOT NULL,
  job_log_id BIGINT NOT NULL,
  action VARCHAR(15) NOT NULL,
  line BIGINT NOT NULL,
  test TEXT NULL,
  subtest TEXT NULL,
  status VARCHAR(7) NULL,
  expected VARCHAR(7) NULL,
  message TEXT NULL,
  signature TEXT NULL,
  level VARCHAR(8) NULL,
  stack TEXT NULL,
  stackwalk_stdout MEDIUMTEXT NULL,
  stackwalk_stderr MEDIUMTEXT NULL,
  known_intermittent TEXT NULL,
  best_classification_id BIGINT NULL,
  best_is_verified BOOL NOT NULL DEFAULT FALSE,
  created BIGINT NOT NULL,
  modified BIGINT NOT NULL,
  UNIQUE KEY uq_failure_line (job_log_id, line),
  KEY ix_failure_line_job_guid (job_guid),
  CONSTRAINT fk_failure_line_job_log FOREIGN KEY (job_log_id) REFERENCES job_log (id) ON DELETE CASCADE,
  CONSTRAINT fk_failure_line_cf FOREIGN KEY (best_classification_id) REFERENCES classified_failure (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE text_log_error_metadata (
  text_log_error_id BIGINT NOT NULL PRIMARY KEY,
  failure_line_id BIGINT NULL,
  best_classification_id BIGINT NULL,
  best_is_verified BOOL NOT NULL DEFAULT FALSE,
  CONSTRAINT fk_tlem_tle FOREIGN KEY (text_log_error_id) REFERENCES text_log_error (id) ON DELETE CASCADE,
  CONSTRAINT fk_tlem_fl FOREIGN KEY (failure_line_id) REFERENCES failure_line (id) ON DELETE SET NULL,
  CONSTRAINT fk_tlem_cf FOREIGN KEY (best_classification_id) REFERENCES classified_failure (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE text_log_error_match (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  text_log_error_id BIGINT NOT NULL,
  classified_failure_id BIGINT NOT NULL,
  matcher_name VARCHAR(255) NOT NULL,
  score DECIMAL(3,2) NULL,
  UNIQUE KEY uq_text_log_error_match (text_log_error_id, classified_failure_id, matcher_name),
  CONSTRAINT fk_tlematch_tle FOREIGN KEY (text_log_error_id) REFERENCES text_log_error (id) ON DELETE CASCADE,
  CONSTRAINT fk_tlematch_cf FOREIGN KEY (classified_failure_id) REFERENCES classified_failure (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Treeherder's table is named `group`, a reserved word in SQL.
CREATE TABLE test_group (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  UNIQUE KEY uq_test_group_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- status: OK=1, ERROR=2, SKIP=3, anything else 10; duration in seconds.
CREATE TABLE group_status (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  job_log_id BIGINT NOT NULL,
  group_id BIGINT NOT NULL,
  status SMALLINT NOT NULL,
  duration INT NOT NULL DEFAULT 0,
  UNIQUE KEY uq_group_status (job_log_id, group_id),
  CONSTRAINT fk_group_status_log FOREIGN KEY (job_log_id) REFERENCES job_log (id) ON DELETE CASCADE,
  CONSTRAINT fk_group_status_group FOREIGN KEY (group_id) REFERENCES test_group (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE performance_framework (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  enabled BOOL NOT NULL DEFAULT FALSE,
  UNIQUE KEY uq_performance_framework_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE performance_signature (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  signature_hash VARCHAR(40) NOT NULL,
  repository_id BIGINT NOT NULL,
  framework_id BIGINT NOT NULL,
  platform_id BIGINT NOT NULL,
  option_collection_hash VARCHAR(40) NOT NULL,
  suite VARCHAR(80) NOT NULL,
  test VARCHAR(80) NOT NULL DEFAULT '',
  application VARCHAR(10) NOT NULL DEFAULT '',
  parent_signature_id BIGINT NULL,
  has_subtests BOOL NOT NULL DEFAULT FALSE,
  tags VARCHAR(360) NOT NULL DEFAULT '',
  extra_options VARCHAR(360) NOT NULL DEFAULT '',
  measurement_unit VARCHAR(50) NULL,
  lower_is_better BOOL NOT NULL DEFAULT TRUE,
  should_alert BOOL NULL,
  alert_change_type INT NULL,
  alert_threshold DOUBLE NULL,
  min_back_window INT NULL,
  max_back_window INT NULL,
  fore_window INT NULL,
  last_updated BIGINT NOT NULL,
  UNIQUE KEY uq_performance_signature (repository_id, framework_id, application, signature_hash),
  CONSTRAINT fk_perf_sig_repo FOREIGN KEY (repository_id) REFERENCES repository (id),
  CONSTRAINT fk_perf_sig_framework FOREIGN KEY (framework_id) REFERENCES performance_framework (id),
  CONSTRAINT fk_perf_sig_platform FOREIGN KEY (platform_id) REFERENCES machine_platform (id),
  CONSTRAINT fk_perf_sig_parent FOREIGN KEY (parent_signature_id) REFERENCES performance_signature (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE performance_datum (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  repository_id BIGINT NOT NULL,
  signature_id BIGINT NOT NULL,
  job_id BIGINT NULL,
  push_id BIGINT NOT NULL,
  push_timestamp BIGINT NOT NULL,
  value DOUBLE NOT NULL,
  UNIQUE KEY uq_performance_datum (repository_id, job_id, push_id, push_timestamp, signature_id),
  KEY ix_performance_datum_sig_time (signature_id, push_timestamp),
  CONSTRAINT fk_perf_datum_repo FOREIGN KEY (repository_id) REFERENCES repository (id),
  CONSTRAINT fk_perf_datum_sig FOREIGN KEY (signature_id) REFERENCES performance_signature (id) ON DELETE CASCADE,
  CONSTRAINT fk_perf_datum_job FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE SET NULL,
  CONSTRAINT fk_perf_datum_push FOREIGN KEY (push_id) REFERENCES push (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- herder's own: every raw event a source delivered, so a later processor or
-- transform version can replay history.
CREATE TABLE raw_event (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  source VARCHAR(100) NOT NULL,
  event_id VARCHAR(255) NOT NULL,
  kind VARCHAR(10) NOT NULL,
  received BIGINT NOT NULL,
  payload LONGBLOB NOT NULL,
  KEY ix_raw_event_source_received (source, received)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE raw_event, performance_datum, performance_signature, performance_framework,
  group_status, test_group, text_log_error_match, text_log_error_metadata, failure_line,
  classified_failure, text_log_error, bug_job_map, bugscache, job_note, job_log,
  taskcluster_metadata, job, `user`, reference_data_signatures, failure_classification,
  job_group, job_type, machine_platform, build_platform, option_collection, `option`,
  machine, product, `commit`, push, repository_branch, repository, repository_group;
