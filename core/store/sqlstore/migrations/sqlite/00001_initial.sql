-- Treeherder's data model on SQLite: the same tables and keys as the MySQL
-- migration of the same number (see its header), in SQLite's dialect.

-- +goose Up
CREATE TABLE repository_group (
  id INTEGER PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  description TEXT NOT NULL,
  CONSTRAINT uq_repository_group_name UNIQUE (name)
);

CREATE TABLE repository (
  id INTEGER PRIMARY KEY,
  repository_group_id BIGINT NOT NULL,
  name VARCHAR(50) NOT NULL,
  dvcs_type VARCHAR(25) NOT NULL,
  url VARCHAR(255) NOT NULL,
  codebase VARCHAR(50) NOT NULL DEFAULT '',
  description TEXT NOT NULL,
  active_status VARCHAR(7) NOT NULL DEFAULT 'active',
  life_cycle_order INT NULL,
  performance_alerts_enabled INTEGER NOT NULL DEFAULT 0,
  expire_performance_data INTEGER NOT NULL DEFAULT 1,
  is_try_repo INTEGER NOT NULL DEFAULT 0,
  tc_root_url VARCHAR(255) NOT NULL DEFAULT '',
  accepts_pull_requests INTEGER NOT NULL DEFAULT 0,
  CONSTRAINT uq_repository_name UNIQUE (name),
  CONSTRAINT fk_repository_group FOREIGN KEY (repository_group_id) REFERENCES repository_group (id)
);
CREATE INDEX ix_repository_url_status ON repository (url, active_status);

CREATE TABLE repository_branch (
  id INTEGER PRIMARY KEY,
  repository_id BIGINT NOT NULL,
  branch VARCHAR(255) NOT NULL,
  CONSTRAINT uq_repository_branch UNIQUE (repository_id, branch),
  CONSTRAINT fk_repository_branch_repo FOREIGN KEY (repository_id) REFERENCES repository (id) ON DELETE CASCADE
);

CREATE TABLE push (
  id INTEGER PRIMARY KEY,
  repository_id BIGINT NOT NULL,
  revision VARCHAR(40) NOT NULL,
  author VARCHAR(150) NOT NULL,
  time BIGINT NOT NULL,
  branch VARCHAR(255) NULL,
  CONSTRAINT uq_push_repo_revision UNIQUE (repository_id, revision),
  CONSTRAINT fk_push_repository FOREIGN KEY (repository_id) REFERENCES repository (id)
);
CREATE INDEX ix_push_revision ON push (revision);
CREATE INDEX ix_push_repo_time ON push (repository_id, time);

CREATE TABLE `commit` (
  id INTEGER PRIMARY KEY,
  push_id BIGINT NOT NULL,
  revision VARCHAR(40) NOT NULL,
  author VARCHAR(150) NOT NULL,
  comments TEXT NOT NULL,
  CONSTRAINT uq_commit_push_revision UNIQUE (push_id, revision),
  CONSTRAINT fk_commit_push FOREIGN KEY (push_id) REFERENCES push (id) ON DELETE CASCADE
);
CREATE INDEX ix_commit_revision ON `commit` (revision);

CREATE TABLE product (
  id INTEGER PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  CONSTRAINT uq_product_name UNIQUE (name)
);

CREATE TABLE machine (
  id INTEGER PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  CONSTRAINT uq_machine_name UNIQUE (name)
);

CREATE TABLE `option` (
  id INTEGER PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  CONSTRAINT uq_option_name UNIQUE (name)
);

CREATE TABLE option_collection (
  id INTEGER PRIMARY KEY,
  option_collection_hash VARCHAR(40) NOT NULL,
  option_id BIGINT NOT NULL,
  CONSTRAINT uq_option_collection UNIQUE (option_collection_hash, option_id),
  CONSTRAINT fk_option_collection_option FOREIGN KEY (option_id) REFERENCES `option` (id)
);

CREATE TABLE build_platform (
  id INTEGER PRIMARY KEY,
  os_name VARCHAR(25) NOT NULL,
  platform VARCHAR(100) NOT NULL,
  architecture VARCHAR(25) NOT NULL,
  CONSTRAINT uq_build_platform UNIQUE (os_name, platform, architecture)
);
CREATE INDEX ix_build_platform_platform ON build_platform (platform);

CREATE TABLE machine_platform (
  id INTEGER PRIMARY KEY,
  os_name VARCHAR(25) NOT NULL,
  platform VARCHAR(100) NOT NULL,
  architecture VARCHAR(25) NOT NULL,
  CONSTRAINT uq_machine_platform UNIQUE (os_name, platform, architecture)
);
CREATE INDEX ix_machine_platform_platform ON machine_platform (platform);

CREATE TABLE job_type (
  id INTEGER PRIMARY KEY,
  symbol VARCHAR(25) NOT NULL DEFAULT '?',
  name VARCHAR(140) NOT NULL,
  description TEXT NOT NULL,
  CONSTRAINT uq_job_type UNIQUE (name, symbol)
);

CREATE TABLE job_group (
  id INTEGER PRIMARY KEY,
  symbol VARCHAR(25) NOT NULL DEFAULT '?',
  name VARCHAR(255) NOT NULL,
  description TEXT NOT NULL,
  CONSTRAINT uq_job_group UNIQUE (name, symbol)
);

CREATE TABLE failure_classification (
  id BIGINT NOT NULL PRIMARY KEY,
  name VARCHAR(50) NOT NULL,
  CONSTRAINT uq_failure_classification_name UNIQUE (name)
);

CREATE TABLE reference_data_signatures (
  id INTEGER PRIMARY KEY,
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
  CONSTRAINT uq_reference_data_signature UNIQUE (name, signature, build_system_type, repository)
);
CREATE INDEX ix_reference_data_signature ON reference_data_signatures (signature);

CREATE TABLE `user` (
  id INTEGER PRIMARY KEY,
  username VARCHAR(150) NOT NULL,
  email VARCHAR(254) NOT NULL DEFAULT '',
  is_staff INTEGER NOT NULL DEFAULT 0,
  is_superuser INTEGER NOT NULL DEFAULT 0,
  created BIGINT NOT NULL,
  CONSTRAINT uq_user_username UNIQUE (username)
);

CREATE TABLE job (
  id INTEGER PRIMARY KEY,
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
  CONSTRAINT uq_job_guid UNIQUE (guid),
  CONSTRAINT fk_job_repository FOREIGN KEY (repository_id) REFERENCES repository (id),
  CONSTRAINT fk_job_push FOREIGN KEY (push_id) REFERENCES push (id),
  CONSTRAINT fk_job_failure_classification FOREIGN KEY (failure_classification_id) REFERENCES failure_classification (id)
);
CREATE INDEX ix_job_repo_submit ON job (repository_id, submit_time);
CREATE INDEX ix_job_repo_type_push ON job (repository_id, job_type_id, push_id);
CREATE INDEX ix_job_push ON job (push_id);
CREATE INDEX ix_job_last_modified ON job (last_modified);

CREATE TABLE taskcluster_metadata (
  job_id BIGINT NOT NULL PRIMARY KEY,
  task_id VARCHAR(22) NOT NULL,
  retry_id INT NOT NULL,
  CONSTRAINT fk_taskcluster_metadata_job FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE CASCADE
);
CREATE INDEX ix_taskcluster_metadata_task ON taskcluster_metadata (task_id);

-- status: 0 pending, 1 parsed, 2 failed, 3 skipped-size (Treeherder's), and
-- status_reason / algorithm_version so a failure has a reason and a result
-- can be recomputed when the parser changes.
CREATE TABLE job_log (
  id INTEGER PRIMARY KEY,
  job_id BIGINT NOT NULL,
  name VARCHAR(50) NOT NULL,
  url VARCHAR(255) NOT NULL,
  status SMALLINT NOT NULL DEFAULT 0,
  status_reason VARCHAR(255) NOT NULL DEFAULT '',
  algorithm_version VARCHAR(32) NOT NULL DEFAULT '',
  CONSTRAINT uq_job_log UNIQUE (job_id, name, url),
  CONSTRAINT fk_job_log_job FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE CASCADE
);
CREATE INDEX ix_job_log_status ON job_log (status);

CREATE TABLE job_note (
  id INTEGER PRIMARY KEY,
  job_id BIGINT NOT NULL,
  failure_classification_id BIGINT NOT NULL,
  user_id BIGINT NULL,
  text TEXT NOT NULL,
  created BIGINT NOT NULL,
  CONSTRAINT fk_job_note_job FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE CASCADE,
  CONSTRAINT fk_job_note_fc FOREIGN KEY (failure_classification_id) REFERENCES failure_classification (id),
  CONSTRAINT fk_job_note_user FOREIGN KEY (user_id) REFERENCES `user` (id)
);
CREATE INDEX ix_job_note_job ON job_note (job_id);

CREATE TABLE bugscache (
  id INTEGER PRIMARY KEY,
  bugzilla_id BIGINT NULL,
  status VARCHAR(64) NOT NULL DEFAULT '',
  resolution VARCHAR(64) NOT NULL DEFAULT '',
  summary VARCHAR(255) NOT NULL,
  dupe_of BIGINT NULL,
  crash_signature TEXT NOT NULL,
  keywords TEXT NOT NULL,
  modified BIGINT NOT NULL,
  whiteboard VARCHAR(100) NOT NULL DEFAULT '',
  processed_update INTEGER NOT NULL DEFAULT 1,
  CONSTRAINT uq_bugscache_bugzilla_id UNIQUE (bugzilla_id)
);
CREATE INDEX ix_bugscache_modified ON bugscache (modified);

CREATE TABLE bug_job_map (
  id INTEGER PRIMARY KEY,
  job_id BIGINT NOT NULL,
  bug_id BIGINT NOT NULL,
  user_id BIGINT NULL,
  created BIGINT NOT NULL,
  bug_open INTEGER NOT NULL DEFAULT 0,
  CONSTRAINT uq_bug_job_map UNIQUE (job_id, bug_id),
  CONSTRAINT fk_bug_job_map_job FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE CASCADE,
  CONSTRAINT fk_bug_job_map_bug FOREIGN KEY (bug_id) REFERENCES bugscache (id) ON DELETE CASCADE,
  CONSTRAINT fk_bug_job_map_user FOREIGN KEY (user_id) REFERENCES `user` (id)
);
CREATE INDEX ix_bug_job_map_bug ON bug_job_map (bug_id, created);

CREATE TABLE text_log_error (
  id INTEGER PRIMARY KEY,
  job_id BIGINT NULL,
  line TEXT NOT NULL,
  line_number BIGINT NOT NULL,
  new_failure INTEGER NOT NULL DEFAULT 0,
  CONSTRAINT uq_text_log_error UNIQUE (job_id, line_number),
  CONSTRAINT fk_text_log_error_job FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE CASCADE
);

CREATE TABLE classified_failure (
  id INTEGER PRIMARY KEY,
  bug_number BIGINT NULL,
  created BIGINT NOT NULL,
  modified BIGINT NOT NULL,
  CONSTRAINT uq_classified_failure_bug UNIQUE (bug_number)
);

CREATE TABLE failure_line (
  id INTEGER PRIMARY KEY,
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
  stackwalk_stdout TEXT NULL,
  stackwalk_stderr TEXT NULL,
  known_intermittent TEXT NULL,
  best_classification_id BIGINT NULL,
  best_is_verified INTEGER NOT NULL DEFAULT 0,
  created BIGINT NOT NULL,
  modified BIGINT NOT NULL,
  CONSTRAINT uq_failure_line UNIQUE (job_log_id, line),
  CONSTRAINT fk_failure_line_job_log FOREIGN KEY (job_log_id) REFERENCES job_log (id) ON DELETE CASCADE,
  CONSTRAINT fk_failure_line_cf FOREIGN KEY (best_classification_id) REFERENCES classified_failure (id) ON DELETE SET NULL
);
CREATE INDEX ix_failure_line_job_guid ON failure_line (job_guid);

CREATE TABLE text_log_error_metadata (
  text_log_error_id BIGINT NOT NULL PRIMARY KEY,
  failure_line_id BIGINT NULL,
  best_classification_id BIGINT NULL,
  best_is_verified INTEGER NOT NULL DEFAULT 0,
  CONSTRAINT fk_tlem_tle FOREIGN KEY (text_log_error_id) REFERENCES text_log_error (id) ON DELETE CASCADE,
  CONSTRAINT fk_tlem_fl FOREIGN KEY (failure_line_id) REFERENCES failure_line (id) ON DELETE SET NULL,
  CONSTRAINT fk_tlem_cf FOREIGN KEY (best_classification_id) REFERENCES classified_failure (id) ON DELETE SET NULL
);

CREATE TABLE text_log_error_match (
  id INTEGER PRIMARY KEY,
  text_log_error_id BIGINT NOT NULL,
  classified_failure_id BIGINT NOT NULL,
  matcher_name VARCHAR(255) NOT NULL,
  score REAL NULL,
  CONSTRAINT uq_text_log_error_match UNIQUE (text_log_error_id, classified_failure_id, matcher_name),
  CONSTRAINT fk_tlematch_tle FOREIGN KEY (text_log_error_id) REFERENCES text_log_error (id) ON DELETE CASCADE,
  CONSTRAINT fk_tlematch_cf FOREIGN KEY (classified_failure_id) REFERENCES classified_failure (id) ON DELETE CASCADE
);

-- Treeherder's table is named `group`, a reserved word in SQL.
CREATE TABLE test_group (
  id INTEGER PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  CONSTRAINT uq_test_group_name UNIQUE (name)
);

-- status: OK=1, ERROR=2, SKIP=3, anything else 10; duration in seconds.
CREATE TABLE group_status (
  id INTEGER PRIMARY KEY,
  job_log_id BIGINT NOT NULL,
  group_id BIGINT NOT NULL,
  status SMALLINT NOT NULL,
  duration INT NOT NULL DEFAULT 0,
  CONSTRAINT uq_group_status UNIQUE (job_log_id, group_id),
  CONSTRAINT fk_group_status_log FOREIGN KEY (job_log_id) REFERENCES job_log (id) ON DELETE CASCADE,
  CONSTRAINT fk_group_status_group FOREIGN KEY (group_id) REFERENCES test_group (id)
);

CREATE TABLE performance_framework (
  id INTEGER PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 0,
  CONSTRAINT uq_performance_framework_name UNIQUE (name)
);

CREATE TABLE performance_signature (
  id INTEGER PRIMARY KEY,
  signature_hash VARCHAR(40) NOT NULL,
  repository_id BIGINT NOT NULL,
  framework_id BIGINT NOT NULL,
  platform_id BIGINT NOT NULL,
  option_collection_hash VARCHAR(40) NOT NULL,
  suite VARCHAR(80) NOT NULL,
  test VARCHAR(80) NOT NULL DEFAULT '',
  application VARCHAR(10) NOT NULL DEFAULT '',
  parent_signature_id BIGINT NULL,
  has_subtests INTEGER NOT NULL DEFAULT 0,
  tags VARCHAR(360) NOT NULL DEFAULT '',
  extra_options VARCHAR(360) NOT NULL DEFAULT '',
  measurement_unit VARCHAR(50) NULL,
  lower_is_better INTEGER NOT NULL DEFAULT 1,
  should_alert INTEGER NULL,
  alert_change_type INT NULL,
  alert_threshold REAL NULL,
  min_back_window INT NULL,
  max_back_window INT NULL,
  fore_window INT NULL,
  last_updated BIGINT NOT NULL,
  CONSTRAINT uq_performance_signature UNIQUE (repository_id, framework_id, application, signature_hash),
  CONSTRAINT fk_perf_sig_repo FOREIGN KEY (repository_id) REFERENCES repository (id),
  CONSTRAINT fk_perf_sig_framework FOREIGN KEY (framework_id) REFERENCES performance_framework (id),
  CONSTRAINT fk_perf_sig_platform FOREIGN KEY (platform_id) REFERENCES machine_platform (id),
  CONSTRAINT fk_perf_sig_parent FOREIGN KEY (parent_signature_id) REFERENCES performance_signature (id)
);

CREATE TABLE performance_datum (
  id INTEGER PRIMARY KEY,
  repository_id BIGINT NOT NULL,
  signature_id BIGINT NOT NULL,
  job_id BIGINT NULL,
  push_id BIGINT NOT NULL,
  push_timestamp BIGINT NOT NULL,
  value REAL NOT NULL,
  CONSTRAINT uq_performance_datum UNIQUE (repository_id, job_id, push_id, push_timestamp, signature_id),
  CONSTRAINT fk_perf_datum_repo FOREIGN KEY (repository_id) REFERENCES repository (id),
  CONSTRAINT fk_perf_datum_sig FOREIGN KEY (signature_id) REFERENCES performance_signature (id) ON DELETE CASCADE,
  CONSTRAINT fk_perf_datum_job FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE SET NULL,
  CONSTRAINT fk_perf_datum_push FOREIGN KEY (push_id) REFERENCES push (id) ON DELETE CASCADE
);
CREATE INDEX ix_performance_datum_sig_time ON performance_datum (signature_id, push_timestamp);

-- herder's own: every raw event a source delivered, so a later processor or
-- transform version can replay history.
CREATE TABLE raw_event (
  id INTEGER PRIMARY KEY,
  source VARCHAR(100) NOT NULL,
  event_id VARCHAR(255) NOT NULL,
  kind VARCHAR(10) NOT NULL,
  received BIGINT NOT NULL,
  payload BLOB NOT NULL
);
CREATE INDEX ix_raw_event_source_received ON raw_event (source, received);

-- +goose Down
DROP TABLE raw_event;
DROP TABLE performance_datum;
DROP TABLE performance_signature;
DROP TABLE performance_framework;
DROP TABLE group_status;
DROP TABLE test_group;
DROP TABLE text_log_error_match;
DROP TABLE text_log_error_metadata;
DROP TABLE failure_line;
DROP TABLE classified_failure;
DROP TABLE text_log_error;
DROP TABLE bug_job_map;
DROP TABLE bugscache;
DROP TABLE job_note;
DROP TABLE job_log;
DROP TABLE taskcluster_metadata;
DROP TABLE job;
DROP TABLE `user`;
DROP TABLE reference_data_signatures;
DROP TABLE failure_classification;
DROP TABLE job_group;
DROP TABLE job_type;
DROP TABLE machine_platform;
DROP TABLE build_platform;
DROP TABLE option_collection;
DROP TABLE `option`;
DROP TABLE machine;
DROP TABLE product;
DROP TABLE `commit`;
DROP TABLE push;
DROP TABLE repository_branch;
DROP TABLE repository;
DROP TABLE repository_group;
