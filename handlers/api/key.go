package api

import (
	"github.com/webmin/webmin/models"
)

// Key is an API key or personal token as the API shows it: never its
// secret, which only the answer that made it carries (NewKey).
type Key struct {
	ID         int64       `json:"id"`
	Name       string      `json:"name"`
	Prefix     string      `json:"prefix"`
	Kind       string      `json:"kind"`  // key or token
	Scope      string      `json:"scope"` // read, or read write
	Owner      *AccountRef `json:"owner"`
	CreatedAt  Time        `json:"created_at"`
	ExpiresAt  *Time       `json:"expires_at"`
	LastUsedAt *Time       `json:"last_used_at"`
	RevokedAt  *Time       `json:"revoked_at"`
}

// NewKey is a key just made, with the whole key, shown this once.
type NewKey struct {
	Token string `json:"token"`
	Key
}

func keyFor(k *models.APIKey) Key {
	return Key{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Kind: k.Kind, Scope: k.Scope,
		Owner: accountRef(&k.CreatedBy, k.Creator), CreatedAt: at(k.CreatedAt), ExpiresAt: atOrNull(k.ExpiresAt),
		LastUsedAt: atOrNull(k.LastUsedAt), RevokedAt: atOrNull(k.RevokedAt)}
}
