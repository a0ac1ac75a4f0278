package handlers

import (
	"errors"
	"net/mail"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// Templates of this file.
const (
	tplForgot      = "auth/forgot"
	tplReset       = "auth/reset"
	tplCheckMail   = "auth/check_mail"
	tplLinkInvalid = "auth/link_invalid"
)

// The e-mail flows: following a confirmation link, asking for it again,
// the forgotten password and its reset link, and the admin's "send a
// reset" and "resend confirmation". The messages themselves are prepared
// and sent by h.Mail's queue, so that no request waits for them and the
// answer is the same whether or not an account exists.

// SendConfirmation is the AfterRegister hook: a new account in
// REGISTRATION=confirm mode gets its confirmation link.
func (h *Handler) SendConfirmation(c *fiber.Ctx, u *models.User) {
	h.Mail.Send(models.MailRequest{Kind: models.MailConfirm, UserID: u.ID, By: models.Actor{User: u, Meta: meta(c)}})
}

// Confirm follows a confirmation link (GET /confirm/:token): a new
// account's address is confirmed, or a new address replaces the old one.
func (h *Handler) Confirm(c *fiber.Ctx) error {
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	res, err := h.Users.ConfirmWithToken(c.UserContext(), meta(c), c.Params("token"))
	var te *models.TokenError
	if errors.As(err, &te) {
		return h.linkInvalid(c, te, "confirm")
	}
	if err != nil {
		return err
	}
	u := res.User
	me := Me(c)
	if res.Purpose == models.TokenEmail {
		h.Mail.Send(models.MailRequest{Kind: models.MailEmailChanged, UserID: u.ID, OldEmail: res.OldEmail,
			NewEmail: u.EmailAddress(), By: models.Actor{User: u, Meta: meta(c)}})
		flash(c, "success", "Your e-mail address is now "+u.EmailAddress()+".")
		if me != nil && me.ID == u.ID {
			return redirect(c, "/settings")
		}
		return redirect(c, "/login?login="+url.QueryEscape(u.Username))
	}
	if me != nil && me.ID == u.ID {
		flash(c, "success", "Your e-mail address is confirmed.")
		return redirect(c, "/dashboard")
	}
	flash(c, "success", "Your e-mail address is confirmed. You can sign in now.")
	return redirect(c, "/login?login="+url.QueryEscape(u.Username))
}

// ResendConfirmation sends the confirmation link again, from the sign-in
// page's refusal (field login: username or e-mail). The answer never says
// whether the account exists.
func (h *Handler) ResendConfirmation(c *fiber.Ctx) error {
	if login := strings.TrimSpace(c.FormValue("login")); login != "" && len(login) <= 254 {
		h.Mail.Send(models.MailRequest{Kind: models.MailConfirm, Login: login, By: actor(c)})
	}
	return redirect(c, "/confirm/sent")
}

// ShowConfirmSent says to check the mail for the confirmation link.
func (h *Handler) ShowConfirmSent(c *fiber.Ctx) error {
	return h.render(c, tplCheckMail, Page{Title: "Check your mail", Data: fiber.Map{"About": "confirm"}})
}

// ShowForgot draws the forgotten-password form.
func (h *Handler) ShowForgot(c *fiber.Ctx) error {
	return h.render(c, tplForgot, Page{Title: "Forgot your password?", Data: fiber.Map{
		"Form": fiber.Map{"email": c.Query("email")},
	}})
}

// Forgot asks for a reset link (field email). Known and unknown
// addresses get the same answer in the same time: the account is looked
// up, and the link made and sent, by the mail queue.
func (h *Handler) Forgot(c *fiber.Ctx) error {
	email := strings.TrimSpace(c.FormValue("email"))
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email || len(email) > 254 {
		return h.render(c, tplForgot, Page{Title: "Forgot your password?", Status: fiber.StatusUnprocessableEntity,
			Data: fiber.Map{
				"Form":   fiber.Map{"email": email},
				"Errors": map[string]string{"email": "Enter the e-mail address of your account."},
			}})
	}
	h.Mail.Send(models.MailRequest{Kind: models.MailReset, Email: email, By: actor(c)})
	return redirect(c, "/password/forgot/sent")
}

// ShowForgotSent says to check the mail for the reset link.
func (h *Handler) ShowForgotSent(c *fiber.Ctx) error {
	return h.render(c, tplCheckMail, Page{Title: "Check your mail", Data: fiber.Map{"About": "reset"}})
}

// ShowReset draws the new-password form of a reset link.
func (h *Handler) ShowReset(c *fiber.Ctx) error {
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	token := c.Params("token")
	_, u, err := h.Users.CheckToken(c.UserContext(), token, models.TokenReset)
	var te *models.TokenError
	if errors.As(err, &te) {
		return h.linkInvalid(c, te, "reset")
	}
	if err != nil {
		return err
	}
	return h.resetForm(c, fiber.StatusOK, token, u, nil)
}

func (h *Handler) resetForm(c *fiber.Ctx, status int, token string, u *models.User, errs map[string]string) error {
	return h.render(c, tplReset, Page{Title: "Choose a new password", Status: status, Data: fiber.Map{
		"Token": token, "Username": u.Username, "Errors": errs,
	}})
}

// Reset sets the new password of a reset link (fields password and
// password_confirm): every other session ends, and this browser is
// signed in.
func (h *Handler) Reset(c *fiber.Ctx) error {
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	token := c.Params("token")
	_, u, err := h.Users.CheckToken(c.UserContext(), token, models.TokenReset)
	var te *models.TokenError
	if errors.As(err, &te) {
		return h.linkInvalid(c, te, "reset")
	}
	if err != nil {
		return err
	}
	password := c.FormValue("password")
	if password != c.FormValue("password_confirm") {
		return h.resetForm(c, fiber.StatusUnprocessableEntity, token, u,
			map[string]string{"password_confirm": "The two passwords don't match."})
	}
	done, err := h.Users.ResetWithToken(c.UserContext(), meta(c), token, password)
	if fields, ok := fieldErrors(err); ok {
		return h.resetForm(c, fiber.StatusUnprocessableEntity, token, u, fields)
	}
	if errors.As(err, &te) {
		return h.linkInvalid(c, te, "reset")
	}
	if err != nil {
		return err
	}
	rec, err := h.startSession(c, done, models.SignIn{Method: models.MethodLink})
	if err != nil {
		return err
	}
	if rec.Pending {
		flash(c, "success", "Your password is changed and every other device has been signed out. Enter your code to finish signing in.")
		return redirect(c, "/login/2fa")
	}
	flash(c, "success", "Your password is changed and you are signed in. Every other device has been signed out.")
	return redirect(c, "/dashboard")
}

// linkInvalid is the page for a refused link: 404 when it was never
// valid, 410 when it was used, expired or outdated.
func (h *Handler) linkInvalid(c *fiber.Ctx, te *models.TokenError, about string) error {
	status := fiber.StatusGone
	if te.Reason == models.TokenUnknown {
		status = fiber.StatusNotFound
	}
	hours := int(models.TokenTTL[models.TokenConfirm].Hours())
	if about == "reset" {
		hours = int(models.TokenTTL[models.TokenReset].Hours())
	}
	return h.render(c, tplLinkInvalid, Page{Title: "This link doesn't work", Status: status, Data: fiber.Map{
		"Reason": te.Reason, "About": about, "Hours": hours,
	}})
}

// ChangeSettingsByMail is the ChangeEmail hook of the settings form: name
// and avatar change at once; a new e-mail address gets a confirmation
// link and replaces the old one only when it is followed.
func (h *Handler) ChangeSettingsByMail(c *fiber.Ctx, p models.ProfilePatch) error {
	me := Me(c)
	newEmail := strings.TrimSpace(p.Email)
	changing := newEmail != me.EmailAddress()
	form := fiber.Map{"name": p.Name, "email": p.Email, "avatar": p.Avatar}
	if changing {
		if err := h.Users.CheckNewEmail(c.UserContext(), me, newEmail); err != nil {
			fields, ok := fieldErrors(err)
			if !ok {
				return err
			}
			return h.settingsPage(c, fiber.StatusUnprocessableEntity, form, fields, nil)
		}
		p.Email = me.EmailAddress()
	}
	if _, err := h.Users.UpdateProfile(c.UserContext(), actor(c), p); err != nil {
		fields, ok := fieldErrors(err)
		if !ok {
			return err
		}
		return h.settingsPage(c, fiber.StatusUnprocessableEntity, form, fields, nil)
	}
	if !changing {
		flash(c, "success", "Your settings are saved.")
		return redirect(c, "/settings")
	}
	h.requestEmailChange(c, me, newEmail)
	return redirect(c, "/settings")
}

// requestEmailChange sends the signed-in account's new address a
// confirmation link (the address changes when it is opened) and says so.
func (h *Handler) requestEmailChange(c *fiber.Ctx, me *models.User, newEmail string) {
	h.Mail.Send(models.MailRequest{Kind: models.MailEmailChange, UserID: me.ID, NewEmail: newEmail, By: actor(c)})
	_ = h.Users.Record(c.UserContext(), actor(c), models.EvEmailChangeRequest, &me.ID, "")
	flash(c, "info", "We sent a confirmation link to "+newEmail+". Your e-mail address changes when you open it; until then it stays "+
		orNone(me.EmailAddress())+".")
}

func orNone(s string) string {
	if s == "" {
		return "empty"
	}
	return s
}

// SendUserReset is the console's "send a password reset" (POST
// /admin/users/:id/reset).
func (h *Handler) SendUserReset(c *fiber.Ctx) error {
	return h.adminMail(c, models.MailReset)
}

// ResendUserConfirmation is the console's "resend confirmation" (POST
// /admin/users/:id/resend).
func (h *Handler) ResendUserConfirmation(c *fiber.Ctx) error {
	return h.adminMail(c, models.MailConfirm)
}

func (h *Handler) adminMail(c *fiber.Ctx, kind string) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	back := "/admin/users/" + strconv.FormatInt(id, 10)
	u, err := h.Users.AdminMail(c.UserContext(), actor(c), id, kind)
	var ce *models.ConflictError
	var le *models.LockedError
	switch {
	case errors.As(err, &ce):
		flash(c, "error", ce.Message)
		return redirect(c, back)
	case errors.As(err, &le):
		flash(c, "error", "This account was already sent "+itoa(models.MailPerAccountPerHour)+
			" such messages in the last hour. Try again later.")
		return redirect(c, back)
	case err != nil:
		return err
	}
	h.Mail.Send(models.MailRequest{Kind: kind, UserID: u.ID, By: actor(c)})
	what := "A password reset link"
	if kind == models.MailConfirm {
		what = "A new confirmation link"
	}
	msg := what + " is on its way to " + u.EmailAddress() + "."
	if h.Mail.Transport() == models.TransportOutbox {
		msg = what + " for " + u.EmailAddress() + " is in the outbox (no mail server is set up)."
	}
	flash(c, "success", msg)
	return redirect(c, back)
}

// MailLimited answers a request over the per-address limit of the
// resend and forgot forms: a 429 page, and an event for the audit log.
func (h *Handler) MailLimited(c *fiber.Ctx) error {
	_ = h.Users.Record(c.UserContext(), actor(c), models.EvMailLimited, nil, c.Path()+": too many requests from this address")
	return h.TooManyRequests(c)
}
