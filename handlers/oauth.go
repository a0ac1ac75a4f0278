package handlers

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gorilla/securecookie"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/oauth"
)

// Templates of this file.
const (
	tplOAuthError = "auth/oauth_error"
	tplOAuthEmail = "auth/oauth_email"
)

// Cookies of a provider sign-in, sealed (signed and encrypted) and only
// sent to /auth/: the flow's secrets between start and callback, and the
// provider's profile while a new member types the address to confirm.
const (
	flowCookie    = "wm_oauth"
	pendingCookie = "wm_oauth_signup"
	flowLifetime  = 10 * time.Minute
	pendingLife   = 30 * time.Minute
)

// OAuthCookies seals the sign-in cookies.
type OAuthCookies struct{ codec *securecookie.SecureCookie }

// NewOAuthCookies makes the sealer from a hash key and an encryption key.
func NewOAuthCookies(hashKey, blockKey []byte) *OAuthCookies {
	sc := securecookie.New(hashKey, blockKey)
	sc.SetSerializer(securecookie.JSONEncoder{})
	sc.MaxAge(int(pendingLife / time.Second))
	return &OAuthCookies{codec: sc}
}

// flowState is what the flow cookie holds.
type flowState struct {
	oauth.Flow
	Provider string `json:"p"`
	Next     string `json:"x,omitempty"`
	LinkTo   int64  `json:"l,omitempty"` // the signed-in account that asked to link
	Expires  int64  `json:"e"`
}

// pendingSignUp is what the sign-up cookie holds.
type pendingSignUp struct {
	Profile models.ProviderProfile `json:"p"`
	Next    string                 `json:"x,omitempty"`
	Expires int64                  `json:"e"`
}

func (h *Handler) setSealed(c *fiber.Ctx, name string, v any, life time.Duration) error {
	enc, err := h.OAuthCookies.codec.Encode(name, v)
	if err != nil {
		return err
	}
	c.Cookie(&fiber.Cookie{Name: name, Value: enc, Path: "/auth/", HTTPOnly: true, Secure: h.secureCookies(),
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Now().Add(life)})
	return nil
}

func (h *Handler) clearSealed(c *fiber.Ctx, name string) {
	c.Cookie(&fiber.Cookie{Name: name, Value: "", Path: "/auth/", MaxAge: -1, Expires: time.Unix(1, 0),
		HTTPOnly: true, Secure: h.secureCookies(), SameSite: fiber.CookieSameSiteLaxMode})
}

func (h *Handler) readSealed(c *fiber.Ctx, name string, v any) bool {
	raw := c.Cookies(name)
	return raw != "" && h.OAuthCookies.codec.Decode(name, raw, v) == nil
}

func (h *Handler) secureCookies() bool { return strings.HasPrefix(h.Opts.BaseURL, "https://") }

func (h *Handler) provider(c *fiber.Ctx) (*oauth.Provider, error) {
	p, ok := h.Providers.Get(c.Params("provider"))
	if !ok {
		return nil, models.ErrNotFound
	}
	return p, nil
}

// StartOAuth sends the browser to the provider to sign in (GET
// /auth/:provider, with a local next). When someone is signed in already,
// the flow links the identity to their account instead.
func (h *Handler) StartOAuth(c *fiber.Ctx) error {
	p, err := h.provider(c)
	if err != nil {
		return err
	}
	st := flowState{Flow: oauth.NewFlow(), Provider: p.Name, Next: safeNextOrEmpty(c.Query("next")),
		Expires: time.Now().Add(flowLifetime).Unix()}
	if me := Me(c); me != nil {
		st.LinkTo = me.ID
	}
	to, err := p.AuthCodeURL(c.UserContext(), st.Flow)
	if err != nil {
		h.Log.WarnContext(c.UserContext(), "sign-in provider", "provider", p.Name, "err", err, "request_id", requestID(c))
		return h.oauthProblem(c, p, "unavailable")
	}
	if err := h.setSealed(c, flowCookie, st, flowLifetime); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Redirect(to, fiber.StatusSeeOther)
}

// FinishOAuth is the provider's callback (GET /auth/:provider/callback):
// it checks the state against the flow cookie (used once), trades the code
// for the person's profile, then links the identity (when the flow was
// started signed in), signs in its account, or makes one.
func (h *Handler) FinishOAuth(c *fiber.Ctx) error {
	p, err := h.provider(c)
	if err != nil {
		return err
	}
	var st flowState
	ok := h.readSealed(c, flowCookie, &st)
	h.clearSealed(c, flowCookie)
	if e := c.Query("error"); e != "" {
		if e == "access_denied" {
			return h.oauthProblem(c, p, "denied")
		}
		h.Log.WarnContext(c.UserContext(), "sign-in provider error", "provider", p.Name, "error", e,
			"description", providerText(c.Query("error_description")), "request_id", requestID(c))
		return h.oauthProblem(c, p, "failed")
	}
	if !ok || st.Provider != p.Name || time.Now().Unix() > st.Expires ||
		subtle.ConstantTimeCompare([]byte(st.State), []byte(c.Query("state"))) != 1 {
		return h.oauthProblem(c, p, "state")
	}
	profile, err := p.Exchange(c.UserContext(), st.Flow, c.Query("code"))
	if err != nil {
		h.Log.WarnContext(c.UserContext(), "sign-in provider", "provider", p.Name, "err", err, "request_id", requestID(c))
		if errors.Is(err, oauth.ErrUnavailable) {
			return h.oauthProblem(c, p, "unavailable")
		}
		return h.oauthProblem(c, p, "failed")
	}
	if st.LinkTo != 0 {
		return h.linkIdentity(c, p, st, profile)
	}
	u, err := h.Users.SignInWithIdentity(c.UserContext(), meta(c), profile)
	if errors.Is(err, models.ErrIdentityUnknown) {
		return h.signUpWithIdentity(c, p, profile, "", st.Next)
	}
	if err != nil {
		return h.identitySignInFailed(c, p, err)
	}
	// The identity is the first factor: an account with two-factor on goes
	// on to /login/2fa (with next kept), any other is signed in.
	return h.completeSignIn(c, u, models.SignIn{Method: models.IdentityMethod(p.Name)}, st.Next)
}

func (h *Handler) linkIdentity(c *fiber.Ctx, p *oauth.Provider, st flowState, profile models.ProviderProfile) error {
	me := Me(c)
	if me == nil || me.ID != st.LinkTo {
		return h.oauthProblem(c, p, "state") // signed out (or in as someone else) meanwhile
	}
	_, err := h.Users.LinkIdentity(c.UserContext(), actor(c), profile)
	var ce *models.ConflictError
	if errors.As(err, &ce) {
		return h.render(c, tplOAuthError, Page{Title: "Not linked", Status: http.StatusConflict, Data: fiber.Map{
			"Problem": "linked_elsewhere", "Provider": p.Label, "Name": p.Name, "Message": ce.Message,
		}})
	}
	if err != nil {
		return err
	}
	flash(c, "success", p.Label+" is linked to your account: you can sign in with it from now on.")
	if st.Next != "" {
		return redirect(c, st.Next)
	}
	return redirect(c, "/settings/security")
}

// signUpWithIdentity makes an account for an identity nobody linked yet.
func (h *Handler) signUpWithIdentity(c *fiber.Ctx, p *oauth.Provider, profile models.ProviderProfile, email, next string) error {
	u, err := h.Users.SignUpWithIdentity(c.UserContext(), meta(c), profile, h.Opts.Registration, email)
	if errors.Is(err, models.ErrEmailNeeded) {
		pending := pendingSignUp{Profile: profile, Next: next, Expires: time.Now().Add(pendingLife).Unix()}
		if err := h.setSealed(c, pendingCookie, pending, pendingLife); err != nil {
			return err
		}
		return redirect(c, "/auth/"+p.Name+"/email")
	}
	if err != nil {
		return h.identitySignInFailed(c, p, err)
	}
	h.clearSealed(c, pendingCookie)
	if u.Type == models.TypeInactive {
		if h.AfterRegister != nil {
			h.AfterRegister(c, u)
		}
		flash(c, "info", "Almost done: we sent a confirmation link to "+u.EmailAddress()+
			". Open it, then sign in with "+p.Label+" again.")
		return redirect(c, "/login")
	}
	if _, err := h.startSession(c, u, models.SignIn{Method: models.MethodSignup}); err != nil {
		return err
	}
	flash(c, "success", "Welcome, "+u.Username+"!")
	return redirect(c, safeNext(next))
}

// identitySignInFailed answers the service's refusals in people's words.
func (h *Handler) identitySignInFailed(c *fiber.Ctx, p *oauth.Provider, err error) error {
	var banned *models.BannedError
	var unconfirmed *models.NotConfirmedError
	var inUse *models.EmailInUseError
	switch {
	case errors.As(err, &banned):
		return h.render(c, tplBanned, Page{Title: "Account banned", Status: fiber.StatusForbidden, Data: fiber.Map{
			"Reason": banned.Reason,
		}})
	case errors.As(err, &unconfirmed):
		return h.render(c, tplLogin, Page{Title: "Confirm your e-mail", Status: fiber.StatusForbidden, Data: fiber.Map{
			"Form": fiber.Map{}, "Unconfirmed": true,
			"Error": "Your e-mail address is not confirmed yet. Open the link we sent you, then sign in with " + p.Label + " again.",
		}})
	case errors.As(err, &inUse):
		return h.oauthProblem(c, p, "email_used")
	case errors.Is(err, models.ErrRegistrationClosed):
		return h.oauthProblem(c, p, "closed")
	case errors.Is(err, models.ErrAccountDeleted):
		return h.oauthProblem(c, p, "deleted")
	}
	return err
}

// oauthProblems are the statuses of the sign-in problem page.
var oauthProblems = map[string]int{
	"denied":      http.StatusForbidden,
	"unavailable": http.StatusServiceUnavailable,
	"state":       http.StatusBadRequest,
	"failed":      http.StatusBadRequest,
	"email_used":  http.StatusConflict,
	"closed":      http.StatusForbidden,
	"deleted":     http.StatusForbidden,
}

func (h *Handler) oauthProblem(c *fiber.Ctx, p *oauth.Provider, problem string) error {
	return h.render(c, tplOAuthError, Page{Title: "Sign-in with " + p.Label + " didn't work", Status: oauthProblems[problem],
		Data: fiber.Map{"Problem": problem, "Provider": p.Label, "Name": p.Name}})
}

// ShowOAuthEmail asks a new member for the e-mail address to confirm,
// when the provider gave no verified one and REGISTRATION=confirm.
func (h *Handler) ShowOAuthEmail(c *fiber.Ctx) error {
	p, err := h.provider(c)
	if err != nil {
		return err
	}
	var pending pendingSignUp
	if !h.readSealed(c, pendingCookie, &pending) || pending.Profile.Provider != p.Name || time.Now().Unix() > pending.Expires {
		return h.oauthProblem(c, p, "state")
	}
	return h.render(c, tplOAuthEmail, Page{Title: "Your e-mail address", Data: fiber.Map{
		"Provider": p.Label, "Name": p.Name, "Form": fiber.Map{"email": pending.Profile.Email},
	}})
}

// SaveOAuthEmail makes the account with the typed address, to confirm.
func (h *Handler) SaveOAuthEmail(c *fiber.Ctx) error {
	p, err := h.provider(c)
	if err != nil {
		return err
	}
	var pending pendingSignUp
	if !h.readSealed(c, pendingCookie, &pending) || pending.Profile.Provider != p.Name || time.Now().Unix() > pending.Expires {
		return h.oauthProblem(c, p, "state")
	}
	email := c.FormValue("email")
	if email == "" {
		return h.render(c, tplOAuthEmail, Page{Title: "Your e-mail address", Status: fiber.StatusUnprocessableEntity, Data: fiber.Map{
			"Provider": p.Label, "Name": p.Name, "Form": fiber.Map{"email": email},
			"Errors": map[string]string{"email": "This field is required."},
		}})
	}
	err = h.signUpWithIdentity(c, p, pending.Profile, email, pending.Next)
	if fields, ok := fieldErrors(err); ok {
		return h.render(c, tplOAuthEmail, Page{Title: "Your e-mail address", Status: fiber.StatusUnprocessableEntity, Data: fiber.Map{
			"Provider": p.Label, "Name": p.Name, "Form": fiber.Map{"email": email}, "Errors": fields,
		}})
	}
	return err
}

// providerButton is one provider as the sign-in buttons show it.
type providerButton struct {
	Name  string
	Label string
}

// providerButtons lists the configured providers for the pages.
func (h *Handler) providerButtons() []providerButton {
	var out []providerButton
	for _, p := range h.Providers.List() {
		out = append(out, providerButton{Name: p.Name, Label: p.Label})
	}
	return out
}

// providerLabel is the label of a configured provider, or its name.
func (h *Handler) providerLabel(name string) string {
	if p, ok := h.Providers.Get(name); ok {
		return p.Label
	}
	return name
}

// providerText keeps what a provider wrote (an error description) short
// and valid for the log.
func providerText(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.ToValidUTF8(s, "")
}
