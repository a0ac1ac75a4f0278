package api

import (
	_ "embed"
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// Document is the API's OpenAPI 3.1 description (openapi.json, beside
// this file). The tests check every answer the API gives against it and
// that it lists exactly the routes of app/routes.go, so that it can't
// drift from the code; /api/docs draws it for people.
//
//go:embed openapi.json
var Document []byte

// OpenAPI is GET /api/v1/openapi.json: the document, for anyone (no key).
func (h *Handler) OpenAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*") // a viewer on another site may read it
	return c.Status(http.StatusOK).Send(Document)
}
