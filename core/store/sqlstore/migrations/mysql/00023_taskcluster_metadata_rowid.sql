-- The SQLite migration of the same number makes taskcluster_metadata's job
-- id the table's own key; InnoDB already clusters rows on the primary key,
-- so MySQL has nothing to do.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
