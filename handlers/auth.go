package handlers

import (
	"crypto/subtle"
	"errors"
	"net/url"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// Templates of this file.
const (
	tplLogin    = "auth/login"
	tplRegister = "auth/register"
	tplSetup    = "auth/setup"
	tplBanned   = "auth/banned"
)

// ShowLogin draws the sign-in form.
func (h *Handler) ShowLogin(c *fiber.Ctx) error {
	if Me(c) != nil {
		return c.Redirect(safeNext(c.Query("next")), fiber.StatusSeeOther)
	}
	return h.render(c, tplLogin, Page{Title: "Sign in", Data: fiber.Map{
		"Form": fiber.Map{"login": c.Query("login"), "next": safeNextOrEmpty(c.Query("next"))},
	}})
}

// Login signs a person in by username or e-mail and password.
func (h *Handler) Login(c *fiber.Ctx) error {
	login, password := strings.TrimSpace(c.FormValue("login")), c.FormValue("password")
	next := safeNextOrEmpty(c.FormValue("next"))
	form := fiber.Map{"login": login, "next": next, "remember": c.FormValue("remember") != ""}
	u, err := h.Users.Login(c.UserContext(), meta(c), login, password)
	var banned *models.BannedError
	var unconfirmed *models.NotConfirmedError
	var second *models.SecondFactorError
	var locked *models.LockedError
	switch {
	case err == nil:
	case errors.As(err, &second):
		u = second.User
	case errors.As(err, &locked):
		return h.lockedForm(c, tplLogin, "Sign in", locked, fiber.Map{"Form": form})
	case errors.Is(err, models.ErrInvalidCredentials):
		return h.render(c, tplLogin, Page{Title: "Sign in", Status: fiber.StatusUnauthorized, Data: fiber.Map{
			"Form": form, "Error": "That username or e-mail and password don't match an account.",
		}})
	case errors.As(err, &banned):
		return h.render(c, tplBanned, Page{Title: "Account banned", Status: fiber.StatusForbidden, Data: fiber.Map{
			"Reason": banned.Reason,
		}})
	case errors.As(err, &unconfirmed):
		return h.render(c, tplLogin, Page{Title: "Confirm your e-mail", Status: fiber.StatusForbidden, Data: fiber.Map{
			"Form": form, "Unconfirmed": true,
			"Error": "Your e-mail address is not confirmed yet. Open the link we sent you, or ask for a new one.",
		}})
	default:
		return err
	}
	return h.completeSignIn(c, u, models.SignIn{Method: models.MethodPassword, Remember: c.FormValue("remember") != ""}, next)
}

// Logout ends the session: its server-side record goes, so the cookie
// stops working wherever it was copied to.
func (h *Handler) Logout(c *fiber.Ctx) error {
	if rec := CurrentSession(c); rec != nil {
		if err := h.Users.EndSession(c.UserContext(), actor(c), rec); err != nil {
			return err
		}
		_ = h.Users.ForgetVisitor(c.UserContext(), models.MemberVisitor(rec.UserID))
	} else if p := Pending(c); p != nil {
		if err := h.Users.EndSession(c.UserContext(), models.Actor{Meta: meta(c)}, p); err != nil {
			return err
		}
	}
	session(c).SignOut()
	flash(c, "info", "You are signed out.")
	return redirect(c, "/")
}

// ShowRegister draws the sign-up form.
func (h *Handler) ShowRegister(c *fiber.Ctx) error {
	if Me(c) != nil {
		return redirect(c, "/dashboard")
	}
	return h.render(c, tplRegister, Page{Title: "Create an account", Data: fiber.Map{"Form": fiber.Map{}}})
}

// Register creates an account and signs it in (or, when e-mail
// confirmation is on, asks the person to check their mail).
func (h *Handler) Register(c *fiber.Ctx) error {
	if h.Opts.Registration == "closed" {
		return h.render(c, tplRegister, Page{Title: "Create an account", Status: fiber.StatusForbidden, Data: fiber.Map{
			"Form": fiber.Map{}, "Error": "Registration is closed on this site.",
		}})
	}
	n := models.NewUser{
		Username: c.FormValue("username"),
		Email:    c.FormValue("email"),
		Password: c.FormValue("password"),
	}
	confirm := h.Opts.Registration == "confirm"
	u, err := h.Users.Register(c.UserContext(), meta(c), n, confirm)
	var locked *models.LockedError
	if errors.As(err, &locked) {
		return h.lockedForm(c, tplRegister, "Create an account", locked, fiber.Map{
			"Form": fiber.Map{"username": n.Username, "email": n.Email},
		})
	}
	if fields, ok := fieldErrors(err); ok {
		return h.render(c, tplRegister, Page{Title: "Create an account", Status: fiber.StatusUnprocessableEntity, Data: fiber.Map{
			"Form":   fiber.Map{"username": n.Username, "email": n.Email},
			"Errors": fields,
		}})
	}
	if err != nil {
		return err
	}
	if confirm {
		if h.AfterRegister != nil {
			h.AfterRegister(c, u)
		}
		flash(c, "info", "Almost done: we sent a confirmation link to "+u.EmailAddress()+". Open it to activate your account.")
		return redirect(c, "/login")
	}
	if _, err := h.startSession(c, u, models.SignIn{Method: models.MethodSignup}); err != nil {
		return err
	}
	flash(c, "success", "Welcome, "+u.Username+"!")
	return redirect(c, "/dashboard")
}

// safeNext keeps only local paths as a redirect target: "/x" yes,
// "//host", "/\host" and absolute URLs no.
func safeNext(next string) string {
	if s := safeNextOrEmpty(next); s != "" {
		return s
	}
	return "/dashboard"
}

func safeNextOrEmpty(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n\t") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return ""
	}
	return next
}

// SetupToken is the one-time secret of the first-run /setup link, printed
// at start-up while no superadmin exists.
type SetupToken struct {
	mu    sync.Mutex
	token string
}

// NewSetupToken makes a fresh token.
func NewSetupToken() *SetupToken { return &SetupToken{token: newID()} }

// Token returns the token, or "" once used.
func (t *SetupToken) Token() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.token
}

func (t *SetupToken) valid(s string) bool {
	tok := t.Token()
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s)) == 1
}

func (t *SetupToken) use() {
	t.mu.Lock()
	t.token = ""
	t.mu.Unlock()
}

// ShowSetup draws the first-superadmin form for the holder of the link.
func (h *Handler) ShowSetup(c *fiber.Ctx) error {
	if err := h.checkSetup(c, c.Query("token")); err != nil {
		return err
	}
	return h.render(c, tplSetup, Page{Title: "Set up Webmin", Data: fiber.Map{
		"Form": fiber.Map{"token": c.Query("token")},
	}})
}

// Setup creates the first superadmin and signs it in.
func (h *Handler) Setup(c *fiber.Ctx) error {
	token := c.FormValue("token")
	if err := h.checkSetup(c, token); err != nil {
		return err
	}
	n := models.NewUser{
		Username: c.FormValue("username"),
		Email:    c.FormValue("email"),
		Password: c.FormValue("password"),
		Level:    models.LevelSuperadmin,
	}
	u, err := h.Users.Create(c.UserContext(), models.Actor{Meta: meta(c)}, n)
	if fields, ok := fieldErrors(err); ok {
		return h.render(c, tplSetup, Page{Title: "Set up Webmin", Status: fiber.StatusUnprocessableEntity, Data: fiber.Map{
			"Form": fiber.Map{"token": token, "username": n.Username, "email": n.Email}, "Errors": fields,
		}})
	}
	if err != nil {
		return err
	}
	h.SetupLink.use()
	if _, err := h.startSession(c, u, models.SignIn{Method: models.MethodSignup}); err != nil {
		return err
	}
	flash(c, "success", "Welcome, "+u.Username+"! You are the superadmin of this site.")
	return redirect(c, "/admin")
}

func (h *Handler) checkSetup(c *fiber.Ctx, token string) error {
	if h.SetupLink == nil || !h.SetupLink.valid(token) {
		return models.ErrNotFound
	}
	has, err := h.Users.HasSuperadmin(c.UserContext())
	if err != nil {
		return err
	}
	if has {
		h.SetupLink.use()
		return models.ErrNotFound
	}
	return nil
}
