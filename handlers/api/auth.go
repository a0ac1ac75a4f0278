package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// Auth lets a request in by its bearer key (Authorization: Bearer wm_…).
// The key acts as its creator, read afresh on each request: Me(c) is that
// account, so the service applies its current level and permissions. No
// cookie and no session is read. A missing, unknown or revoked key, or
// one whose account is banned or deleted, is a 401 with
// WWW-Authenticate: Bearer.
func (h *Handler) Auth(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	header := strings.TrimSpace(c.Get(fiber.HeaderAuthorization))
	if header == "" {
		return unauthorized(c, "", "Send an API key or token in the Authorization header: Bearer <key>. Admins make keys in the console (API keys); members make personal tokens in their settings (/settings/tokens), and apps get one from POST /api/v1/auth/token.")
	}
	scheme, key, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		return unauthorized(c, "invalid_request", "Use the Bearer scheme: Authorization: Bearer <key>.")
	}
	u, k, err := h.Users.AuthenticateAPIKey(c.UserContext(), strings.TrimSpace(key), meta(c))
	var ke *models.APIKeyError
	if errors.As(err, &ke) {
		return unauthorized(c, "invalid_token", strings.ToUpper(ke.Reason[:1])+ke.Reason[1:]+".")
	}
	if err != nil {
		return err
	}
	c.Locals(localMe, u)
	c.Locals(localKey, k)
	return c.Next()
}

// unauthorized is the 401 of RFC 6750: the challenge says to send a
// bearer key, and why the one sent was refused.
func unauthorized(c *fiber.Ctx, code, msg string) error {
	challenge := `Bearer realm="webmin"`
	if code != "" {
		challenge += `, error="` + code + `"`
	}
	c.Set(fiber.HeaderWWWAuthenticate, challenge)
	return writeError(c, http.StatusUnauthorized, msg, nil)
}

// Client names the key a request came with, so that the API's rate limit
// counts per key (Auth has run before it).
func Client(c *fiber.Ctx) string {
	if k := CurrentKey(c); k != nil {
		return "key:" + strconv.FormatInt(k.ID, 10)
	}
	return "ip:" + c.IP()
}

// RequireLevel lets through keys whose account has at least level;
// others get a 403.
func (h *Handler) RequireLevel(level int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if me := Me(c); me == nil || me.Level < level || me.Type != models.TypeActive {
			return &models.DeniedError{Reason: "this endpoint needs the " + models.Role(level) + " role"}
		}
		return c.Next()
	}
}

// paramID reads a positive integer route parameter; anything else is a 404.
func paramID(c *fiber.Ctx, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, models.ErrNotFound
	}
	return id, nil
}
