package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// Limited counts each request under l and key(c) (the client address
// when key is nil) and lets it on while within the limit; past it, limited
// answers, with Retry-After set to the seconds until the window ends. Every
// answer carries X-RateLimit-Limit, X-RateLimit-Remaining and
// X-RateLimit-Reset (seconds). With skipFailed, a request answered with a
// status of 400 or more (or an error) is taken back: only successes count.
// The counting is models.Limiter's (shared by every instance).
func Limited(l *models.Limiter, key func(*fiber.Ctx) string, limited fiber.Handler, skipFailed bool) fiber.Handler {
	if key == nil {
		key = func(c *fiber.Ctx) string { return c.IP() }
	}
	max := strconv.Itoa(l.Limit().Max)
	return func(c *fiber.Ctx) error {
		k := key(c)
		v, err := l.Hit(c.UserContext(), k)
		if err != nil {
			return err
		}
		reset := strconv.Itoa(int((v.Reset + 999_999_999) / 1_000_000_000)) // whole seconds, rounded up
		c.Set("X-RateLimit-Limit", max)
		c.Set("X-RateLimit-Reset", reset)
		if !v.Allowed {
			c.Set("X-RateLimit-Remaining", "0")
			c.Set(fiber.HeaderRetryAfter, reset)
			return limited(c)
		}
		c.Set("X-RateLimit-Remaining", strconv.Itoa(v.Remaining))
		err = c.Next()
		if skipFailed && (err != nil || c.Response().StatusCode() >= fiber.StatusBadRequest) {
			if uerr := l.Undo(c.UserContext(), k, v); uerr != nil && err == nil {
				return uerr
			}
			c.Set("X-RateLimit-Remaining", strconv.Itoa(v.Remaining+1))
		}
		return err
	}
}
