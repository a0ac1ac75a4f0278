// Package api is the JSON API under /api/v1 (docs/api.md): bearer keys
// instead of cookies, JSON envelopes instead of pages, and its own error
// path. Like the pages, every handler parses input, calls the users
// service and answers; the rules live in models. One converter per
// resource (user.go, key.go, event.go) draws what the service returns as
// the API shows it, and openapi.json beside them is the contract the
// tests check every answer against.
package api

import (
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// Handler carries the dependencies of the API's handlers.
type Handler struct {
	Users *models.Service
	Log   *slog.Logger
	Mail  Mailer // queues the links that password-reset and resend-confirmation send
}

// Mailer is what the API needs of the mail queue; app wires app/mailer in.
type Mailer interface {
	Send(models.MailRequest) // queue a message; never waits for delivery
}

// Locals keys of an API request.
const (
	localMe  = "api.me"
	localKey = "api.key"
)

// Me is the account the request's key acts as (set by Auth), or nil.
func Me(c *fiber.Ctx) *models.User {
	u, _ := c.Locals(localMe).(*models.User)
	return u
}

// CurrentKey is the key the request came with (set by Auth), or nil.
func CurrentKey(c *fiber.Ctx) *models.APIKey {
	k, _ := c.Locals(localKey).(*models.APIKey)
	return k
}

// actor is the key's account as the actor of a service call; the audit
// log says which key it came with.
func actor(c *fiber.Ctx) models.Actor {
	return models.Actor{User: Me(c), Meta: meta(c), Key: CurrentKey(c)}
}

func meta(c *fiber.Ctx) models.Meta {
	m := models.Meta{IP: c.IP(), UserAgent: string(c.Request().Header.UserAgent())}
	if k := CurrentKey(c); k != nil {
		m.Via = "API key " + k.Prefix
	}
	return m
}

func requestID(c *fiber.Ctx) string {
	if v, ok := c.Locals("requestid").(string); ok {
		return v
	}
	return c.GetRespHeader(fiber.HeaderXRequestID)
}
