package handlers

import (
	"bytes"
	"context"
	"errors"
	"html/template"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// What the site scripts (package site) use from the pages: the current
// visitor, flashes, the one sign-in path, and the layout. app wires the
// Handler in as the site package's Pages.

// CurrentUser is Me as a method, for packages that reach the pages through an interface.
func (h *Handler) CurrentUser(c *fiber.Ctx) *models.User { return Me(c) }

// Actor is the signed-in visitor (or nobody) as the actor of a service call.
func (h *Handler) Actor(c *fiber.Ctx) models.Actor { return actor(c) }

// Flash queues a one-time message for the visitor's next page.
func (h *Handler) Flash(c *fiber.Ctx, kind, text string) { flash(c, kind, text) }

// Registration is the site's registration mode: open, confirm or closed.
func (h *Handler) Registration() string { return h.Opts.Registration }

// Registered does what follows a self-registration that needs its e-mail
// confirmed: the confirmation link is sent.
func (h *Handler) Registered(c *fiber.Ctx, u *models.User) {
	if h.AfterRegister != nil {
		h.AfterRegister(c, u)
	}
}

// RenderSiteView draws a site script's view inside the layout: draw
// gives the view's HTML for page, which holds every page's keys (.CSRF,
// .Me, …), to which draw adds the script's own.
func (h *Handler) RenderSiteView(c *fiber.Ctx, status int, title string,
	draw func(page map[string]any) (template.HTML, error)) error {
	page := h.pageData(c, title)
	nav, err := h.fragment("partials/nav", navKey(Me(c), page["Section"].(string), page["CSRF"]), page)
	if err != nil {
		return err
	}
	page["Nav"] = nav
	content, err := draw(page)
	if err != nil {
		return err
	}
	page["Content"] = content
	out := bufPool.Get().(*bytes.Buffer)
	out.Reset()
	defer bufPool.Put(out)
	if err := h.execute(out, "layouts/main", page); err != nil {
		return templateError("layouts/main", err)
	}
	return sendPage(c, status, bytes.Clone(out.Bytes()))
}

// RenderPage draws one of the built-in templates (the console's pages of
// other packages) with the usual keys and data.
func (h *Handler) RenderPage(c *fiber.Ctx, name, title string, data map[string]any) error {
	return h.render(c, name, Page{Title: title, Data: data})
}

// ErrorPage draws the error page with a message of the caller's own.
func (h *Handler) ErrorPage(c *fiber.Ctx, status int, message string) error {
	return h.render(c, "errors/error", Page{Title: "Error", Status: status, Data: fiber.Map{
		"Status": status, "Message": message,
	}})
}

// pageData is what every page gets (see render).
func (h *Handler) pageData(c *fiber.Ctx, title string) fiber.Map {
	return fiber.Map{
		"Title":        title,
		"Me":           Me(c),
		"Flashes":      h.takeFlashes(c),
		"CSRF":         c.Locals(localCSRF),
		"Path":         c.Path(),
		"Section":      section(c),
		"RequestID":    requestID(c),
		"Site":         h.Opts.SiteName,
		"Registration": h.Opts.Registration,
		"Version":      h.Opts.Version,
		"Passkeys":     h.Opts.Passkeys,
		"Providers":    h.providerButtons(), // sign-in providers: partials/provider_buttons
	}
}

// ResendConfirmationFor sends the confirmation link of account id again,
// for a script: the console's "resend confirmation", with its rules.
func (h *Handler) ResendConfirmationFor(ctx context.Context, by models.Actor, id int64) error {
	u, err := h.Users.AdminMail(ctx, by, id, models.MailConfirm)
	if err != nil {
		return err
	}
	h.Mail.Send(models.MailRequest{Kind: models.MailConfirm, UserID: u.ID, By: by})
	return nil
}

// SignInWithPassword is the sign-in page's path for a site script: the
// service checks the password (with its throttling), then the session
// starts as at every sign-in (startSession). For an account with
// two-factor on the session waits for the code at /login/2fa: the
// account comes back with a *models.SecondFactorError.
func (h *Handler) SignInWithPassword(c *fiber.Ctx, login, password string, remember bool) (*models.User, error) {
	u, err := h.Users.Login(c.UserContext(), meta(c), login, password)
	var second *models.SecondFactorError
	if errors.As(err, &second) {
		u = second.User
	} else if err != nil {
		return nil, err
	}
	rec, err := h.startSession(c, u, models.SignIn{Method: models.MethodPassword, Remember: remember})
	if err != nil {
		return nil, err
	}
	if rec.Pending {
		return u, &models.SecondFactorError{User: u}
	}
	return u, nil
}
