package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// defaultTokenName names a token made by CreateToken without one.
const defaultTokenName = "API token"

// CreateToken is POST /api/v1/auth/token, for apps: {"login", "password",
// "code" (when two-factor is on), and optionally "name", "scope" ("read"
// or "read write", the default) and "expires_in" (such as "30d")}. It
// signs in as the sign-in form does, with the same failure counting and
// locks, and answers 201 with a personal token for the account, shown
// this once. Wrong credentials are a 401.
func (h *Handler) CreateToken(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	b, err := readJSONObject(c)
	if err != nil {
		return err
	}
	login, password := b.text("login", false), b.text("password", false)
	for name, v := range map[string]*string{"login": login, "password": password} {
		if v == nil && b.errs[name] == "" {
			b.errs[name] = "This field is required."
		}
	}
	code, name, scope := b.text("code", true), b.text("name", true), b.text("scope", true)
	n := models.NewAPIKey{Name: defaultTokenName}
	if name != nil && *name != "" {
		n.Name = *name
	}
	if scope != nil {
		n.Scope = *scope
	}
	if v := b.text("expires_in", true); v != nil && *v != "" {
		d, ok := models.ParseLifetime(*v)
		if !ok {
			b.errs["expires_in"] = "Use a number and a unit: 12h, 30d, 2w or 1y."
		} else {
			n.ExpiresAt = h.Users.Now().Add(d)
		}
	}
	if err := b.done(); err != nil {
		return err
	}
	if code == nil {
		code = new(string)
	}
	k, token, err := h.Users.SignInForToken(c.UserContext(), meta(c), *login, *password, *code, n)
	if errors.Is(err, models.ErrInvalidCredentials) {
		return unauthorized(c, "", "Wrong login or password.")
	}
	if err != nil {
		return err
	}
	c.Location("/api/v1/auth/token")
	return one(c, http.StatusCreated, NewKey{Token: token, Key: keyFor(k)})
}

// GetToken is GET /api/v1/auth/token: the key or token the request came with.
func (h *Handler) GetToken(c *fiber.Ctx) error {
	return one(c, http.StatusOK, keyFor(CurrentKey(c)))
}

// RevokeToken is DELETE /api/v1/auth/token: the key or token the request
// came with stops working (an app signing out). 204.
func (h *Handler) RevokeToken(c *fiber.Ctx) error {
	k := CurrentKey(c)
	if _, err := h.Users.RevokeAPIKey(c.UserContext(), actor(c), k.ID); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// CheckScope refuses a change made with a key whose scope is read (a
// 403): every method but GET and HEAD changes something. It runs after
// Auth, on every route of the API but the sign-out (RevokeToken).
func (h *Handler) CheckScope(c *fiber.Ctx) error {
	k := CurrentKey(c)
	switch {
	case k == nil, k.CanWrite(), c.Method() == fiber.MethodGet, c.Method() == fiber.MethodHead:
		return c.Next()
	}
	return &models.DeniedError{Reason: "this key's scope is read (key " + k.Prefix + ", id " + strconv.FormatInt(k.ID, 10) +
		"); make one with the scope read write to change things"}
}
