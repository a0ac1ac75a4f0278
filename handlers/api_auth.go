package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

const localAPIKey = "apikey"

// APIAuth lets a JSON API request in by its bearer key
// (Authorization: Bearer wm_…). The key acts as its creator, read afresh
// on each request: Me(c) is that account, so the service applies its
// current level and permissions. No cookie and no session is read. A
// missing, unknown or revoked key, or one whose account is banned or
// deleted, is a 401 with WWW-Authenticate: Bearer.
func (h *Handler) APIAuth(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	header := strings.TrimSpace(c.Get(fiber.HeaderAuthorization))
	if header == "" {
		return apiUnauthorized(c, "", "Send an API key in the Authorization header: Bearer <key>. Admins make keys in the console under API keys.")
	}
	scheme, key, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		return apiUnauthorized(c, "invalid_request", "Use the Bearer scheme: Authorization: Bearer <key>.")
	}
	u, k, err := h.Users.AuthenticateAPIKey(c.UserContext(), strings.TrimSpace(key), meta(c))
	var ke *models.APIKeyError
	if errors.As(err, &ke) {
		return apiUnauthorized(c, "invalid_token", strings.ToUpper(ke.Reason[:1])+ke.Reason[1:]+".")
	}
	if err != nil {
		return err
	}
	c.Locals(localMe, u)
	c.Locals(localAPIKey, k)
	return c.Next()
}

// apiUnauthorized is the 401 of RFC 6750: the challenge says to send a
// bearer key, and why the one sent was refused.
func apiUnauthorized(c *fiber.Ctx, code, msg string) error {
	challenge := `Bearer realm="webmin"`
	if code != "" {
		challenge += `, error="` + code + `"`
	}
	c.Set(fiber.HeaderWWWAuthenticate, challenge)
	return apiError(c, http.StatusUnauthorized, msg, nil)
}

// APIClient names the key a request came with, so that the API's rate
// limit counts per key (APIAuth has run before it).
func APIClient(c *fiber.Ctx) string {
	if k, ok := c.Locals(localAPIKey).(*models.APIKey); ok {
		return "key:" + strconv.FormatInt(k.ID, 10)
	}
	return "ip:" + c.IP()
}

// APIRequireLevel lets through keys whose account has at least level;
// others get a 403.
func (h *Handler) APIRequireLevel(level int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if me := Me(c); me == nil || me.Level < level || me.Type != models.TypeActive {
			return &models.DeniedError{Reason: "this endpoint needs the " + models.Role(level) + " role"}
		}
		return c.Next()
	}
}

// APINotFound answers any other /api/v1 address, so that it never reaches
// the page middleware (sessions, CSRF, presence).
func (h *Handler) APINotFound(*fiber.Ctx) error { return models.ErrNotFound }
