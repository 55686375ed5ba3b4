-- API tokens; see the MySQL migration of the same number.

-- +goose Up
CREATE TABLE api_token (
  id INTEGER PRIMARY KEY,
  user_id BIGINT NOT NULL,
  name VARCHAR(100) NOT NULL,
  token_hash CHAR(64) NOT NULL,
  role VARCHAR(16) NOT NULL,
  created BIGINT NOT NULL,
  last_used BIGINT NOT NULL DEFAULT 0,
  revoked INTEGER NOT NULL DEFAULT 0,
  CONSTRAINT uq_api_token_hash UNIQUE (token_hash),
  CONSTRAINT fk_api_token_user FOREIGN KEY (user_id) REFERENCES `user` (id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE api_token;
