-- API tokens for scripts and the CLI's admin commands. Only a SHA-256 of the
-- token is stored, so a database dump does not hand out credentials.

-- +goose Up
CREATE TABLE api_token (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT NOT NULL,
  name VARCHAR(100) NOT NULL,
  token_hash CHAR(64) NOT NULL,
  role VARCHAR(16) NOT NULL,
  created BIGINT NOT NULL,
  last_used BIGINT NOT NULL DEFAULT 0,
  revoked BOOL NOT NULL DEFAULT FALSE,
  UNIQUE KEY uq_api_token_hash (token_hash),
  CONSTRAINT fk_api_token_user FOREIGN KEY (user_id) REFERENCES `user` (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE api_token;
