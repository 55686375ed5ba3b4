// Package auth issues and checks herder's credentials.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
)

// tokenPrefix marks herder tokens so secret scanners can recognise them.
const tokenPrefix = "hdr_"

// ErrInvalidToken is returned for unknown, revoked or malformed tokens.
var ErrInvalidToken = errors.New("invalid or revoked token")

// NewToken makes a random token and the hash to store for it.
func NewToken() (token, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("random token: %w", err)
	}
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token), nil
}

// HashToken is what the store keeps of a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenStore is what token checks need of storage.
type TokenStore interface {
	TokenByHash(ctx context.Context, hash string) (model.APIToken, error)
}

// CheckToken resolves a presented token to its stored record. Lookups go by
// hash, so comparing secrets never happens in a timing-sensitive way.
func CheckToken(ctx context.Context, s TokenStore, token string) (model.APIToken, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 200 {
		return model.APIToken{}, ErrInvalidToken
	}
	t, err := s.TokenByHash(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return t, ErrInvalidToken
	}
	return t, err
}

// Allows reports whether a role may act with the required role.
func Allows(have, need string) bool {
	switch need {
	case model.RoleSheriff:
		return have == model.RoleSheriff || have == model.RoleAdmin
	case model.RoleAdmin:
		return have == model.RoleAdmin
	}
	return false
}
