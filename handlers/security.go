package handlers

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"image/png"

	"github.com/gofiber/fiber/v2"
	"github.com/pquerna/otp"
)

const tplSecurity = "member/security"

// securityPage draws the two-factor, passkey and linked-identity settings.
func (h *Handler) securityPage(c *fiber.Ctx, status int, errs map[string]string) error {
	sec, err := h.Users.Security(c.UserContext(), actor(c), h.Opts.SiteName)
	if err != nil {
		return err
	}
	data := fiber.Map{"Security": sec, "Errors": errs, "Section": "settings", "RecoveryCodes": takeRecoveryCodes(c)}
	identities, err := h.identitiesData(c) // linked sign-in providers: partials/identities
	if err != nil {
		return err
	}
	for k, v := range identities {
		data[k] = v
	}
	if data["WithoutPasskeys"], err = h.Users.SignsInWithoutPasskeys(c.UserContext(), Me(c)); err != nil {
		return err
	}
	if sec.Setup != nil {
		data["QR"] = qrDataURL(sec.Setup.URL)
	}
	return h.render(c, tplSecurity, Page{Title: "Security", Status: status, Data: data})
}

// qrDataURL draws an otpauth:// URL as a PNG QR code in a data: URL (the
// CSP allows data: images; nothing leaves the server).
func qrDataURL(otpURL string) template.URL {
	k, err := otp.NewKeyFromURL(otpURL)
	if err != nil {
		return ""
	}
	img, err := k.Image(240, 240)
	if err != nil {
		return ""
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return ""
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))
}

// ShowSecurity draws /settings/security.
func (h *Handler) ShowSecurity(c *fiber.Ctx) error {
	return h.securityPage(c, fiber.StatusOK, nil)
}

// BeginTOTP makes a new authenticator secret and shows it (QR code and text).
func (h *Handler) BeginTOTP(c *fiber.Ctx) error {
	_, err := h.Users.BeginTOTP(c.UserContext(), actor(c), h.Opts.SiteName)
	if fields, ok := fieldErrors(err); ok {
		return h.securityPage(c, fiber.StatusConflict, fields)
	}
	if err != nil {
		return err
	}
	return redirect(c, "/settings/security#totp")
}

// ConfirmTOTP turns two-factor on with a first code, then shows the
// recovery codes once.
func (h *Handler) ConfirmTOTP(c *fiber.Ctx) error {
	codes, err := h.Users.ConfirmTOTP(c.UserContext(), actor(c), c.FormValue("code"))
	if fields, ok := fieldErrors(err); ok {
		return h.securityPage(c, fiber.StatusUnprocessableEntity, fields)
	}
	if err != nil {
		return err
	}
	session(c).v.Codes = codes
	session(c).dirty = true
	flash(c, "success", "Two-factor sign-in is on. Keep your recovery codes somewhere safe: they are shown only now.")
	return redirect(c, "/settings/security")
}

// DisableTOTP turns two-factor off, with the password and a code.
func (h *Handler) DisableTOTP(c *fiber.Ctx) error {
	err := h.Users.DisableTOTP(c.UserContext(), actor(c), c.FormValue("current_password"), c.FormValue("code"))
	if fields, ok := fieldErrors(err); ok {
		return h.securityPage(c, fiber.StatusUnprocessableEntity, fields)
	}
	if err != nil {
		return err
	}
	flash(c, "success", "Two-factor sign-in is off.")
	return redirect(c, "/settings/security")
}

// NewRecoveryCodes replaces the recovery codes (with the password) and
// shows the new ones once.
func (h *Handler) NewRecoveryCodes(c *fiber.Ctx) error {
	codes, err := h.Users.NewRecoveryCodes(c.UserContext(), actor(c), c.FormValue("recovery_password"))
	if fields, ok := fieldErrors(err); ok {
		return h.securityPage(c, fiber.StatusUnprocessableEntity, fields)
	}
	if err != nil {
		return err
	}
	session(c).v.Codes = codes
	session(c).dirty = true
	flash(c, "success", "Here are your new recovery codes: the old ones no longer work.")
	return redirect(c, "/settings/security")
}

// takeRecoveryCodes returns the recovery codes waiting to be shown once.
func takeRecoveryCodes(c *fiber.Ctx) []string {
	s := session(c)
	if s == nil || len(s.v.Codes) == 0 {
		return nil
	}
	codes := s.v.Codes
	s.v.Codes = nil
	s.dirty = true
	return codes
}

// ResetUserMFA turns another account's two-factor sign-in off (admins, on
// lower levels): the flash says what went and what stayed (models.MFAReset).
func (h *Handler) ResetUserMFA(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	u, r, err := h.Users.ResetMFA(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	msg := u.Username + "'s two-factor sign-in is reset: " + r.String() + "."
	if r.KeptPasskeys > 0 {
		msg += " If they lost those devices too, set a password for them."
	}
	flash(c, "success", msg)
	return redirect(c, userURL(id))
}
