package api

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/handlers"
	"github.com/webmin/webmin/models"
)

// Errors is the API's error path, the first middleware of its group:
// whatever a handler or middleware after it returns (or panics with)
// becomes the JSON error shape, with the status the pages would give the
// same typed error (handlers.StatusOf is that one mapping). The
// application's error handler, which draws pages, never sees an API error.
func (h *Handler) Errors(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			h.Log.ErrorContext(c.UserContext(), "panic", "panic", fmt.Sprint(r), "path", c.Path(),
				"request_id", requestID(c), "stack", string(debug.Stack()))
			err = h.fail(c, fmt.Errorf("panic: %v", r))
		}
	}()
	if err := c.Next(); err != nil {
		return h.fail(c, err)
	}
	return nil
}

// fail answers err as the JSON error shape.
func (h *Handler) fail(c *fiber.Ctx, err error) error {
	status, msg := handlers.StatusOf(err)
	if status >= 500 {
		h.Log.ErrorContext(c.UserContext(), "request failed",
			"err", err, "method", c.Method(), "path", c.Path(), "request_id", requestID(c))
	}
	var le *models.LockedError
	if errors.As(err, &le) {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int(le.RetryAfter.Round(time.Second)/time.Second))))
	}
	if status == http.StatusServiceUnavailable { // the database can't be reached
		c.Set(fiber.HeaderRetryAfter, "5")
	}
	if status == http.StatusNotFound {
		msg = "Not found."
	}
	fields, _ := handlers.FieldErrors(err) // 422 and 409 name their fields
	c.Response().ResetBody()
	return writeError(c, status, msg, fields)
}

// writeError answers the JSON error shape of SPEC §5; code is the
// status's name in snake case (not_found, unprocessable_entity).
func writeError(c *fiber.Ctx, status int, msg string, fields map[string]string) error {
	code := strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
	return writeJSON(c, status, errorBody{Error: errorDetail{Code: code, Message: msg, Fields: fields}, Meta: metaOf(c)})
}

type errorBody struct {
	Error errorDetail `json:"error"`
	Meta  metaBody    `json:"meta"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields"`
}

// TooManyRequests is the API limiter's answer (it has set Retry-After).
func (h *Handler) TooManyRequests(c *fiber.Ctx) error {
	return writeError(c, http.StatusTooManyRequests, "Too many requests. Try again later.", nil)
}

// NotFound answers any other /api/v1 address, so that it never reaches
// the page middleware (sessions, CSRF, presence).
func (h *Handler) NotFound(*fiber.Ctx) error { return models.ErrNotFound }

// badRequest is a 400 with a message for the caller.
func badRequest(msg string) error { return fiber.NewError(http.StatusBadRequest, msg) }
