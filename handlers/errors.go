package handlers

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// StatusOf maps an error to its HTTP status and a message safe to show:
// the one mapping of typed errors, for the pages here and the JSON API
// (handlers/api).
func StatusOf(err error) (int, string) {
	var fe *fiber.Error
	var de *models.DeniedError
	var ve *models.ValidationError
	var ce *models.ConflictError
	var le *models.LockedError
	switch {
	case errors.Is(err, models.ErrNotFound):
		return http.StatusNotFound, "We couldn't find that page."
	case models.IsUnavailable(err):
		return http.StatusServiceUnavailable, "The site can't reach its database right now. Try again in a few seconds."
	case errors.As(err, &de):
		return http.StatusForbidden, "You can't do that: " + de.Reason + "."
	case errors.As(err, &ve):
		return http.StatusUnprocessableEntity, "Some of what was sent is not valid: " + strings.TrimPrefix(ve.Error(), "invalid input: ")
	case errors.As(err, &ce):
		return http.StatusConflict, ce.Message
	case errors.As(err, &le):
		return http.StatusTooManyRequests, lockedMessage(le)
	case errors.As(err, &fe):
		switch fe.Code {
		case http.StatusNotFound:
			return fe.Code, "We couldn't find that page."
		case http.StatusMethodNotAllowed:
			return fe.Code, "That address doesn't take this kind of request."
		case http.StatusRequestEntityTooLarge:
			return fe.Code, "What was sent is too large."
		}
		if fe.Code < 500 {
			return fe.Code, fe.Message
		}
	}
	return http.StatusInternalServerError, "Something went wrong on our side. It has been logged; please try again."
}

// developerDetail is an error that says where it happened (a site
// script's file and line), shown on the error page in development only.
type developerDetail interface{ DeveloperDetail() string }

// ErrorHandler is the one place errors become pages (the JSON API answers
// its own, through handlers/api's Errors, with the same StatusOf):
// typed service errors get their status, anything else a 500 with the
// request id and no internals (but template errors in development).
func (h *Handler) ErrorHandler(c *fiber.Ctx, err error) error {
	status, msg := StatusOf(err)
	if status >= 500 {
		h.Log.ErrorContext(c.UserContext(), "request failed",
			"err", err, "method", c.Method(), "path", LogPath(c.Path()), "request_id", requestID(c))
	}
	var le *models.LockedError
	if errors.As(err, &le) {
		c.Set(fiber.HeaderRetryAfter, retrySeconds(le.RetryAfter))
	}
	if status == http.StatusServiceUnavailable {
		c.Set(fiber.HeaderRetryAfter, "5")
	}
	detail := ""
	var te *TemplateError
	var dev developerDetail
	if h.Opts.Development && errors.As(err, &te) {
		detail = te.Error()
	} else if h.Opts.Development && errors.As(err, &dev) {
		detail = dev.DeveloperDetail()
	}
	c.Response().ResetBody()
	rerr := h.render(c, "errors/error", Page{Title: http.StatusText(status), Status: status, Data: fiber.Map{
		"Status": status, "Message": msg, "Detail": detail,
	}})
	if rerr != nil {
		// The error page itself failed (a broken layout): plain text, still no internals.
		h.Log.ErrorContext(c.UserContext(), "error page failed", "err", rerr, "request_id", requestID(c))
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		body := http.StatusText(status) + "\nRequest id: " + requestID(c) + "\n"
		if detail != "" {
			body += "\n" + rerr.Error() + "\n"
		}
		return c.Status(status).SendString(body)
	}
	return nil
}

// lockedMessage tells in words how long a lock lasts.
func lockedMessage(le *models.LockedError) string {
	return "Too many failed attempts. Try again in " + inWords(le.RetryAfter) + "."
}

// inWords says a wait the way people do: "5 seconds", "15 minutes",
// "1 hour", rounded up.
func inWords(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return itoa(n) + " " + unit + "s"
	}
	secs := int((d + time.Second - 1) / time.Second)
	mins := (secs + 59) / 60
	switch {
	case secs < 60:
		return plural(max(secs, 1), "second")
	case mins < 60 || (mins > 60 && mins < 120):
		return plural(mins, "minute")
	default:
		return plural((mins+59)/60, "hour")
	}
}

// lockedForm draws a form again with a lock's message and a 429 (the page
// links to the password reset).
func (h *Handler) lockedForm(c *fiber.Ctx, tpl, title string, le *models.LockedError, data fiber.Map) error {
	c.Set(fiber.HeaderRetryAfter, retrySeconds(le.RetryAfter))
	data["Error"] = lockedMessage(le)
	data["Locked"] = true
	return h.render(c, tpl, Page{Title: title, Status: http.StatusTooManyRequests, Data: data})
}

func retrySeconds(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s < 1 {
		s = 1
	}
	return itoa(s)
}

// TooManyRequests is the limiters' answer: a 429 page (the limiter has set Retry-After).
func (h *Handler) TooManyRequests(c *fiber.Ctx) error {
	return h.render(c, "errors/error", Page{Title: "Too many requests", Status: http.StatusTooManyRequests, Data: fiber.Map{
		"Status": http.StatusTooManyRequests,
		"Message": "Too many attempts from your network. Wait " + c.GetRespHeader(fiber.HeaderRetryAfter) +
			" seconds and try again.",
	}})
}

// LogPath keeps the secret of an e-mail link (/confirm/…, /password/reset/…)
// out of the logs.
func LogPath(p string) string {
	for _, prefix := range []string{"/confirm/", "/password/reset/"} {
		if strings.HasPrefix(p, prefix) && len(p) > len(prefix)+20 {
			return prefix + "…"
		}
	}
	return p
}

// FieldErrors extracts the per-field messages of a validation or conflict
// error (for a form, or the JSON API's "fields"); ok is false for any
// other error.
func FieldErrors(err error) (map[string]string, bool) { return fieldErrors(err) }
