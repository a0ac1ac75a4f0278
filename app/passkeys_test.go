package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/webmin/webmin/app"
	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// passkeySignIn runs the sign-in ceremony of static/js/passkeys.js over
// HTTP with a software device: the options, then the signed answer.
func passkeySignIn(t *testing.T, c *apptest.Client, dev *modelstest.Authenticator, owner int64) *apptest.Response {
	t.Helper()
	options := c.Post("/login/passkey/options", nil)
	wantStatus(t, options, http.StatusOK)
	return c.Post("/login/passkey", url.Values{"credential": {string(dev.Assert(t, []byte(options.Body), owner))}})
}

// Wrong passkeys lock like wrong passwords, and the script is told so in
// the password form's words, with Retry-After; the owner's passkey
// still works from another address.
func TestPasskeySignInLockSaysSo(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		pia := env.User("pia", models.LevelUser)
		dev := modelstest.NewAuthenticator(t, env.Config.BaseURL)
		if _, err := env.DB.NewInsert().Model(dev.Passkey(t, pia.ID, "Phone", env.Clock.Now())).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		thief := clientAt(env, "198.51.100.66")
		var res *apptest.Response
		for range 5 {
			res = passkeySignIn(t, thief, dev.Impostor(t), pia.ID)
		}
		wantStatus(t, res, http.StatusTooManyRequests)
		var body struct{ Error string }
		res.JSON(t, &body)
		if body.Error != "Too many failed attempts. Try again in 15 minutes." {
			t.Errorf("error %q", body.Error)
		}
		if ra, _ := strconv.Atoi(res.Header.Get("Retry-After")); ra < 890 || ra > 900 {
			t.Errorf("Retry-After %q, want about 900", res.Header.Get("Retry-After"))
		}
		wantStatus(t, passkeySignIn(t, thief, dev, pia.ID), http.StatusTooManyRequests)
		wantStatus(t, signIn(thief, "pia", apptest.Password), http.StatusTooManyRequests)
		wantStatus(t, passkeySignIn(t, clientAt(env, "203.0.113.5"), dev, pia.ID), http.StatusOK)
	}, func(c *app.Config) { c.BaseURL = "http://localhost:3000" })
}
