package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
)

// EnsureUser returns the user with this username, creating it when missing.
func (s *Store) EnsureUser(ctx context.Context, username, email string, staff bool) (model.User, error) {
	u := model.User{Username: username, Email: email, IsStaff: staff}
	if _, err := s.db.ExecContext(ctx, s.d.insertIgnore+" INTO `user` (username, email, is_staff, is_superuser, created) VALUES (?, ?, ?, ?, ?)",
		username, email, staff, false, s.now().Unix()); err != nil {
		return u, fmt.Errorf("create user %s: %w", username, err)
	}
	err := s.db.QueryRowContext(ctx, "SELECT id, email, is_staff, is_superuser FROM `user` WHERE username = ?", username).
		Scan(&u.ID, &u.Email, &u.IsStaff, &u.IsSuperuser)
	if err != nil {
		return u, fmt.Errorf("read user %s: %w", username, err)
	}
	if staff && !u.IsStaff {
		if _, err := s.db.ExecContext(ctx, "UPDATE `user` SET is_staff = ? WHERE id = ?", true, u.ID); err != nil {
			return u, fmt.Errorf("make %s staff: %w", username, err)
		}
		u.IsStaff = true
	}
	return u, nil
}

// CreateToken stores a token's hash for a user.
func (s *Store) CreateToken(ctx context.Context, userID int64, name, role, hash string) (int64, error) {
	res, err := s.db.ExecContext(ctx, "INSERT INTO api_token (user_id, name, token_hash, role, created) VALUES (?, ?, ?, ?, ?)",
		userID, name, hash, role, s.now().Unix())
	if err != nil {
		return 0, fmt.Errorf("create token: %w", err)
	}
	return res.LastInsertId()
}

const tokenSelect = `SELECT t.id, t.name, t.role, t.created, t.last_used, t.revoked,
	u.id, u.username, u.email, u.is_staff, u.is_superuser
	FROM api_token t JOIN ` + "`user`" + ` u ON u.id = t.user_id`

func scanToken(sc interface{ Scan(...any) error }) (model.APIToken, error) {
	var t model.APIToken
	err := sc.Scan(&t.ID, &t.Name, &t.Role, &t.Created, &t.LastUsed, &t.Revoked,
		&t.User.ID, &t.User.Username, &t.User.Email, &t.User.IsStaff, &t.User.IsSuperuser)
	return t, err
}

// TokenByHash finds a live token by its hash and records its use.
func (s *Store) TokenByHash(ctx context.Context, hash string) (model.APIToken, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, tokenSelect+" WHERE t.token_hash = ? AND t.revoked = ?", hash, false))
	if err == sql.ErrNoRows {
		return t, store.ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("look up token: %w", err)
	}
	now := s.now().Unix()
	if now-t.LastUsed > 60 { // once a minute is enough to show a token is in use
		_, _ = s.db.ExecContext(ctx, "UPDATE api_token SET last_used = ? WHERE id = ?", now, t.ID)
	}
	return t, nil
}

// Tokens lists every token, revoked ones included.
func (s *Store) Tokens(ctx context.Context) ([]model.APIToken, error) {
	rows, err := s.db.QueryContext(ctx, tokenSelect+" ORDER BY t.id")
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []model.APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes a token by id.
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, "UPDATE api_token SET revoked = ? WHERE id = ?", true, id)
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}
