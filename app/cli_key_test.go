package app_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

var keyLine = regexp.MustCompile(`^wm_[a-km-z2-9]{8}_[A-Za-z0-9_-]{43}\n$`)

func TestCLIKeys(t *testing.T) {
	for _, db := range modelstest.DBNames {
		t.Run(db, func(t *testing.T) {
			env := cliEnv(t, db)
			if code, _, errOut := runCLI(env, "", "migrate", "up"); code != 0 {
				t.Fatalf("migrate: %s", errOut)
			}
			if code, _, errOut := runCLI(env, "a-good-password\n", "user", "create", "--username", "deploy", "--level", "9", "--password-stdin"); code != 0 {
				t.Fatalf("user create: %s", errOut)
			}
			if code, _, errOut := runCLI(env, "a-good-password\n", "user", "create", "--username", "ada", "--level", "1", "--password-stdin"); code != 0 {
				t.Fatalf("user create: %s", errOut)
			}

			// create prints the key and nothing else.
			code, out, errOut := runCLI(env, "", "key", "create", "--user", "DEPLOY", "--name", "ci")
			if code != 0 || !keyLine.MatchString(out) || errOut != "" {
				t.Fatalf("key create: %d %q %q", code, out, errOut)
			}
			rw := strings.TrimSpace(out)
			code, out, _ = runCLI(env, "", "key", "create", "--user", "ada", "--name", "reports", "--scope", "read", "--expires", "30d")
			if code != 0 || !keyLine.MatchString(out) {
				t.Fatalf("key create --scope read: %d %q", code, out)
			}
			ro := strings.TrimSpace(out)

			sqlDB, err := models.Open(context.Background(), env["DATABASE_URL"])
			if err != nil {
				t.Fatal(err)
			}
			defer sqlDB.Close()
			users := models.NewService(sqlDB, models.Options{})
			// A server beside the command line: it keeps keys in memory and
			// hears of the command line's revocation through the change signal.
			followCtx, stopFollowing := context.WithCancel(context.Background())
			stopped := users.Follow(followCtx)
			defer func() { stopFollowing(); <-stopped }()
			u, k, err := users.AuthenticateAPIKey(context.Background(), rw, models.Meta{})
			if err != nil || u.Username != "deploy" || !k.CanWrite() || k.ExpiresAt != nil || k.Kind != models.KindKey {
				t.Fatalf("the ci key: %v %+v %v", u, k, err)
			}
			u, k, err = users.AuthenticateAPIKey(context.Background(), ro, models.Meta{})
			if err != nil || u.Username != "ada" || k.CanWrite() || k.ExpiresAt == nil ||
				k.ExpiresAt.Sub(time.Now()) < 29*24*time.Hour || k.ExpiresAt.Sub(time.Now()) > 31*24*time.Hour {
				t.Fatalf("the reports key: %v %+v %v", u, k, err)
			}

			// Bad command lines: usage (2) or a refusal (1), and no key printed.
			for _, c := range []struct {
				code int
				want string
				args []string
			}{
				{2, "--user and --name are required", []string{"key", "create", "--name", "x"}},
				{2, "--user and --name are required", []string{"key", "create", "--user", "ada"}},
				{2, "--scope", []string{"key", "create", "--user", "ada", "--name", "x", "--scope", "admin"}},
				{2, "--expires", []string{"key", "create", "--user", "ada", "--name", "x", "--expires", "soon"}},
				{2, "unknown action", []string{"key", "rotate"}},
				{2, "exactly one ID", []string{"key", "revoke"}},
				{2, "not a key's id", []string{"key", "revoke", "abc"}},
				{1, "no such account", []string{"key", "create", "--user", "nobody", "--name", "x"}},
				{1, "no key with id 9999", []string{"key", "revoke", "9999"}},
			} {
				code, out, errOut := runCLI(env, "", c.args...)
				if code != c.code || !strings.Contains(errOut, c.want) || out != "" {
					t.Errorf("%v: %d %q %q, want %d and %q", c.args, code, out, errOut, c.code, c.want)
				}
			}

			// list shows both, revoke ends one.
			code, out, errOut = runCLI(env, "", "key", "list")
			if code != 0 || !strings.Contains(out, rw[:11]) || !strings.Contains(out, ro[:11]) ||
				!strings.Contains(out, "read write") || !strings.Contains(out, "ada") || strings.Contains(out, rw[12:]) {
				t.Fatalf("key list: %d %q %q", code, out, errOut)
			}
			id := regexp.MustCompile(`(?m)^(\d+)\s+` + ro[:11]).FindStringSubmatch(out)
			if id == nil {
				t.Fatalf("no id for %s in:\n%s", ro[:11], out)
			}
			if code, out, errOut = runCLI(env, "", "key", "revoke", id[1]); code != 0 || !strings.Contains(out, "Revoked "+ro[:11]) {
				t.Fatalf("key revoke: %d %q %q", code, out, errOut)
			}
			within(t, time.Now(), 2*time.Second, "the revoked key refused by a server", func() bool {
				_, _, err := users.AuthenticateAPIKey(context.Background(), ro, models.Meta{})
				return err != nil
			})
			if _, out, _ = runCLI(env, "", "key", "list"); !strings.Contains(out, "revoked") {
				t.Fatalf("key list after revoke:\n%s", out)
			}
		})
	}
}
