package app_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"testing"

	"github.com/webmin/webmin/app"
	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The access log names the status the client got, also when the error
// handler decided it (404, 403, 429, 503…).
func TestAccessLogStatus(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		var out lockedBuffer
		srv, err := app.NewServer(env.Config, env.Users, slog.New(slog.NewTextHandler(&out, nil)))
		if err != nil {
			t.Fatal(err)
		}
		env.Server = srv
		env.User("kim", models.LevelUser)
		c := env.Client()
		wantStatus(t, c.Get("/profile/nobody"), http.StatusNotFound)
		wantStatus(t, env.SignedIn("kim").Get("/admin"), http.StatusForbidden)
		for range 5 {
			signIn(c, "kim", "wrong password")
		}
		wantStatus(t, c.Get("/api/v1/users/1"), http.StatusUnauthorized)
		wantStatus(t, c.Post("/admin/users/1/block", url.Values{"_csrf": {"forged"}}), http.StatusForbidden)

		log := out.String()
		for _, want := range []string{
			`path=/profile/nobody status=404`, `path=/admin status=403`, `path=/login status=429`,
			`path=/api/v1/users/1 status=401`, `path=/admin/users/1/block status=403`,
		} {
			if !regexp.MustCompile(regexp.QuoteMeta(want) + ` `).MatchString(log) {
				t.Errorf("log lacks %q:\n%s", want, log)
			}
		}
		if regexp.MustCompile(`status=0 `).MatchString(log) {
			t.Errorf("status=0 logged:\n%s", log)
		}
	})
}
