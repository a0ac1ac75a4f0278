package app

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/handlers"
	"github.com/webmin/webmin/handlers/api"
	"github.com/webmin/webmin/models"
)

// routes is the whole route table: every URL, its method and its
// middleware chain, public → signed-in → staff (level ≥ 6) → admin (≥ 8).
// Reading it is reading the product.
//
// Order matters in Fiber: a Use (or a Group with middleware) applies to
// every route registered after it whose path it prefixes, so the machine
// endpoints come first, then the page middleware, then the pages.
func (s *Server) routes() {
	h := s.Handler
	app := s.Fiber

	// Machines: static files, probes.
	s.mountStatic()
	app.Get("/healthz", h.Healthz)
	app.Get("/readyz", h.Readyz)

	// JSON API (/api/v1, handlers/api): bearer API keys, no cookies, no
	// CSRF, JSON errors (a.Errors). Each key acts as its creator; the
	// service applies that account's permissions. Rate limited per key;
	// anything else under /api/v1 is a JSON 404 that never reaches the
	// page middleware below. The limits are counted in the database
	// (models.Limiter), so that every instance counts against the same
	// ones; the API's settles a busy key in batches (docs/throttling.md).
	a := s.API
	apiLimiter := handlers.Limited(s.Users.Limiter(models.Limit{Name: "api", Max: s.Config.APIRateLimit, Window: time.Minute}),
		api.Client, a.TooManyRequests, false)
	// Apps: a personal token for a login and password (no key; the
	// service counts failed sign-ins per account and address, as for
	// /login), and signing out with it.
	app.Get("/api/v1/openapi.json", a.Errors, a.OpenAPI) // the contract (handlers/api/openapi.json); no key
	app.Post("/api/v1/auth/token", a.Errors, a.CreateToken)
	app.Delete("/api/v1/auth/token", a.Errors, a.Auth, a.RevokeToken) // read-only tokens may sign out too
	// Everything else: a key; a key whose scope is read only reads.
	v1 := app.Group("/api/v1", a.Errors, a.Auth, apiLimiter, a.CheckScope)
	v1.Get("/auth/token", a.GetToken)
	apiStaff, apiAdmin := a.RequireLevel(models.LevelModerator), a.RequireLevel(models.LevelAdmin)
	v1.Get("/users", a.ListUsers)
	v1.Get("/users/me", a.GetMe)
	// Bulk actions on a filter (dry run first; jobs run in batches) and
	// the CSV export, before /users/:id. The service decides who may.
	v1.Post("/users/bulk", a.Bulk)
	v1.Get("/users/bulk/:id", apiStaff, a.GetBulkJob)
	v1.Post("/users/bulk/:id/cancel", apiStaff, a.CancelBulkJob)
	v1.Get("/users/export.csv", apiStaff, a.ExportUsers)
	v1.Get("/users/:id", a.GetUser)
	v1.Post("/users", a.CreateUser)
	v1.Patch("/users/:id", a.UpdateUser)
	v1.Delete("/users/:id", a.DeleteUser)
	v1.Get("/online", apiAdmin, a.Online)
	v1.Get("/stats", apiStaff, a.Stats)
	// The console's account actions, through the same service methods
	// (which check who may do them to whom).
	v1.Post("/users/:id/block", a.BlockUser) // moderators too, on lower levels
	v1.Post("/users/:id/unblock", a.UnblockUser)
	v1.Post("/users/:id/restore", a.RestoreUser)
	v1.Post("/users/:id/confirm", a.ConfirmUser)
	v1.Post("/users/:id/resend-confirmation", a.ResendConfirmation)
	v1.Post("/users/:id/sessions/revoke", a.RevokeUserSessions) // any key on its own account
	v1.Post("/users/:id/mfa/reset", a.ResetUserMFA)             // admins, on lower levels
	v1.Put("/users/:id/password", a.SetUserPassword)
	v1.Post("/users/:id/password-reset", a.SendPasswordReset)
	// The audit log: all of it (admins), one account's (staff, as its console page).
	v1.Get("/events", apiAdmin, a.ListEvents)
	v1.Get("/users/:id/events", apiStaff, a.ListUserEvents)
	// Linked sign-in identities: an account's own, or staff (admins unlink, on lower levels).
	v1.Get("/users/:id/identities", a.ListIdentities)
	v1.Delete("/users/:id/identities/:identity", a.UnlinkIdentity)
	v1.Use(a.NotFound)

	// Pages: the session (Me), the CSRF check and token (bound to the
	// session), presence.
	app.Use(h.LoadSession, h.CheckCSRF, h.TrackPresence)

	signedIn := h.RequireSignedIn
	adminOnly := h.RequireLevel(models.LevelAdmin)
	// Sign-in has no limiter here: the service counts failed guesses per
	// account and address and per address, shared by every instance
	// (docs/throttling.md). This one counts accounts made per address;
	// the service counts refused registrations.
	signups := handlers.Limited(s.Users.Limiter(models.Limit{Name: "signup", Max: 10, Window: time.Hour, Batch: 1}),
		nil, h.TooManyRequests, true)

	// Site scripts (SITE_DIR/*.lua): their routes under SITE_PREFIX, with
	// the page middleware above. At the root (SITE_PREFIX=/) they come
	// before the built-in pages, which they may take over, except the
	// reserved paths (/admin, /api, /static, /setup, /healthz, /readyz).
	if s.Site.Prefix() == "" {
		app.Use(s.Site.Handler)
	} else {
		app.Use(s.Site.Prefix(), s.Site.Handler)
	}

	// Visitors
	app.Get("/", h.Home)
	app.Get("/login", h.ShowLogin)
	app.Post("/login", h.Login)
	app.Get("/login/2fa", h.ShowSecondFactor)                 // after a right password, for accounts with two-factor
	app.Post("/login/2fa", h.SecondFactor)                    // wrong codes are counted like wrong passwords
	app.Post("/login/passkey/options", h.PasskeyLoginOptions) // JSON for static/js/passkeys.js
	app.Post("/login/passkey", h.PasskeyLogin)
	app.Get("/register", h.ShowRegister)
	app.Post("/register", signups, h.Register)
	app.Post("/logout", h.Logout)
	app.Get("/profile/:username", h.ShowProfile)
	app.Get("/api/docs", h.ShowAPIDocs) // the JSON API's reference, drawn from its OpenAPI document
	app.Get("/setup", h.ShowSetup)
	app.Post("/setup", h.Setup)

	// Sign-in providers (OAUTH_PROVIDERS): start, callback (state, PKCE and
	// nonce checked there), and the address a new member types when the
	// provider gave no verified one. Signed in, a start links instead.
	app.Get("/auth/:provider", h.StartOAuth)
	app.Get("/auth/:provider/callback", h.FinishOAuth) // nothing to guess: state, PKCE and the provider decide
	app.Get("/auth/:provider/email", h.ShowOAuthEmail)
	app.Post("/auth/:provider/email", signups, h.SaveOAuthEmail)

	// Signed-in members: their own account
	app.Get("/dashboard", signedIn, h.Dashboard)
	app.Get("/settings", signedIn, h.ShowSettings)
	app.Post("/settings", signedIn, h.SaveSettings)
	app.Post("/settings/password", signedIn, h.ChangePassword)
	app.Post("/settings/sessions/revoke", signedIn, h.RevokeSessions)
	app.Get("/settings/tokens", signedIn, h.ShowTokens) // personal API tokens: shown once, hashed
	app.Post("/settings/tokens", signedIn, h.CreateToken)
	app.Post("/settings/tokens/:id/revoke", signedIn, h.RevokeToken)
	app.Get("/settings/sessions", signedIn, h.ShowSessions) // devices signed in, this one marked
	app.Post("/settings/sessions/:sid/revoke", signedIn, h.RevokeSession)
	app.Get("/settings/security", signedIn, h.ShowSecurity) // two-factor, recovery codes, passkeys
	app.Post("/settings/security/totp", signedIn, h.BeginTOTP)
	app.Post("/settings/security/totp/confirm", signedIn, h.ConfirmTOTP)
	app.Post("/settings/security/totp/disable", signedIn, h.DisableTOTP)
	app.Post("/settings/security/recovery", signedIn, h.NewRecoveryCodes)
	app.Post("/settings/security/passkeys/options", signedIn, h.PasskeyOptions) // JSON for static/js/passkeys.js
	app.Post("/settings/security/passkeys", signedIn, h.AddPasskey)
	app.Post("/settings/security/passkeys/:pid/rename", signedIn, h.RenamePasskey)
	app.Post("/settings/security/passkeys/:pid/remove", signedIn, h.RemovePasskey)
	app.Post("/settings/identities/:identity/unlink", signedIn, h.UnlinkOwnIdentity) // linked sign-in providers, listed in /settings/security

	// E-mail flows: confirmation, password reset. The forms that send
	// mail are limited per address here and per account by the mail queue.
	mailRequests := func(name string) fiber.Handler {
		return handlers.Limited(s.Users.Limiter(models.Limit{Name: name, Max: 5, Window: 15 * time.Minute, Batch: 1}),
			nil, h.MailLimited, false)
	}
	app.Get("/confirm/sent", h.ShowConfirmSent) // before /confirm/:token
	app.Get("/confirm/:token", h.Confirm)
	app.Post("/confirm/resend", mailRequests("mail-resend"), h.ResendConfirmation)
	app.Get("/password/forgot", h.ShowForgot)
	app.Post("/password/forgot", mailRequests("mail-forgot"), h.Forgot)
	app.Get("/password/forgot/sent", h.ShowForgotSent)
	app.Get("/password/reset/:token", h.ShowReset)
	app.Post("/password/reset/:token", h.Reset)

	// Console: everything under /admin needs staff (moderator, level ≥ 6);
	// routes marked adminOnly need level ≥ 8.
	staff := app.Group("/admin", h.RequireLevel(models.LevelModerator))
	superadminOnly := h.RequireLevel(models.LevelSuperadmin)
	staff.Get("/", h.AdminDashboard)
	staff.Get("/users", h.ListUsers)
	staff.Get("/users/new", adminOnly, h.ShowNewUser) // before /users/:id
	// Bulk actions on the list's filter: a dry run, then a job that runs
	// in batches (its page reloads itself, and can cancel it); CSV export.
	// The service decides who may do what (moderators: ban and unban).
	staff.Get("/users/bulk", h.ShowBulk)
	staff.Post("/users/bulk", h.StartBulkJob)
	staff.Get("/users/bulk/:id", h.ShowBulkJob)
	staff.Post("/users/bulk/:id/cancel", h.CancelBulkJob)
	staff.Get("/users/export.csv", h.ExportUsers)
	staff.Post("/users", adminOnly, h.CreateUser)
	staff.Get("/users/:id", h.ShowUser) // e-mail addresses for admins only
	staff.Post("/users/:id", adminOnly, h.SaveUser)
	staff.Post("/users/:id/block", h.BlockUser) // moderators too, on lower levels
	staff.Post("/users/:id/unblock", h.UnblockUser)
	staff.Post("/users/:id/delete", adminOnly, h.DeleteUser)
	staff.Post("/users/:id/restore", adminOnly, h.RestoreUser)
	staff.Post("/users/:id/purge", superadminOnly, h.PurgeUser)
	staff.Post("/users/:id/password", adminOnly, h.SetUserPassword)
	staff.Post("/users/:id/confirm", adminOnly, h.ConfirmUserEmail)
	staff.Post("/users/:id/sessions/revoke", h.RevokeUserSessions)       // anyone on their own account; admins on lower levels
	staff.Post("/users/:id/sessions/:sid/revoke", h.RevokeUserSession)   // one session; same rule
	staff.Post("/users/:id/mfa/reset", adminOnly, h.ResetUserMFA)        // turn two-factor off, on lower levels
	staff.Post("/users/:id/reset", adminOnly, h.SendUserReset)           // e-mail a password reset link
	staff.Post("/users/:id/resend", adminOnly, h.ResendUserConfirmation) // e-mail the confirmation link again
	staff.Post("/users/:id/identities/:identity/unlink", adminOnly, h.UnlinkUserIdentity)
	staff.Get("/online", adminOnly, h.ShowOnline)
	staff.Get("/events", adminOnly, h.ListEvents)
	staff.Get("/outbox", adminOnly, h.ShowOutbox) // the e-mail the site sent (or holds, with no SMTP_URL)

	// Console › API keys (admins): list, make (shown once), revoke.
	staff.Get("/keys", adminOnly, h.ShowAPIKeys)
	staff.Post("/keys", adminOnly, h.CreateAPIKey)
	staff.Post("/keys/:id/revoke", adminOnly, h.RevokeAPIKey)

	// Console › site scripts (admins): files, routes, hooks, recent
	// errors; a superadmin may run a snippet with their own permissions.
	staff.Get("/scripts", adminOnly, s.Site.ShowConsole)
	staff.Post("/scripts/run", superadminOnly, s.Site.RunSnippet)

	// Anything else: the 404 page.
	app.Use(func(*fiber.Ctx) error { return models.ErrNotFound })
}
