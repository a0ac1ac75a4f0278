package app_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// keyID finds the id of the key (its prefix is the key's first part).
func keyID(t *testing.T, env *apptest.Env, key string) int64 {
	t.Helper()
	keys, err := env.Users.APIKeys(context.Background(), models.APIKeyFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys.Items {
		if k.Prefix == key[:len(k.Prefix)] {
			return k.ID
		}
	}
	t.Fatalf("no key %s…", key[:11])
	return 0
}

// Keys are kept in memory between requests, yet a revoked key, or one
// whose account is banned, demoted or deleted, changes the very next
// answer on the server that made the change.
func TestAPIKeyChangesTakeEffectAtOnce(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		env.User("root", models.LevelSuperadmin)
		admin := env.User("admin", models.LevelAdmin)
		key := env.APIKey("admin")
		c := env.Client()
		for range 3 { // kept in memory now
			oneOf(t, c.API("GET", "/api/v1/users/me", key, nil), http.StatusOK)
		}
		wantAPIStatus(t, c.API("GET", "/api/v1/events", key, nil), http.StatusOK)

		// Demoted: the lower level applies at once.
		root, _ := env.Users.GetByUsername(ctx, "root")
		if _, err := env.Users.Update(ctx, models.Actor{User: root}, admin.ID, models.Patch{Level: ptr(models.LevelModerator)}); err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, c.API("GET", "/api/v1/events", key, nil), http.StatusForbidden, "")

		// Banned: refused at once; unbanned: back.
		if _, err := env.Users.Block(ctx, models.System, admin.ID, "test"); err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, c.API("GET", "/api/v1/users/me", key, nil), http.StatusUnauthorized, "")
		if _, err := env.Users.Unblock(ctx, models.System, admin.ID); err != nil {
			t.Fatal(err)
		}
		oneOf(t, c.API("GET", "/api/v1/users/me", key, nil), http.StatusOK)

		// Revoked in the console: refused at once.
		res := env.SignedIn("root").Post("/admin/keys/"+strconv.FormatInt(keyID(t, env, key), 10)+"/revoke", nil)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoke: %d %s", res.StatusCode, res.Body)
		}
		wantAPIError(t, c.API("GET", "/api/v1/users/me", key, nil), http.StatusUnauthorized, "")

		// Deleted: a new key of a deleted account is refused at once.
		again := env.APIKey("root")
		oneOf(t, c.API("GET", "/api/v1/users/me", again, nil), http.StatusOK)
		env.User("root2", models.LevelSuperadmin) // not the last superadmin
		if _, err := env.Users.Delete(ctx, models.System, root.ID); err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, c.API("GET", "/api/v1/users/me", again, nil), http.StatusUnauthorized, "")
	})
}

// A key revoked (or whose account is banned) on one server is refused by
// another that has it in memory, within the change signal's bound: 100 ms
// on PostgreSQL (NOTIFY), 2 s on SQLite (each process reads the change
// counter every second).
func TestAPIKeyRevocationReachesTheOtherServer(t *testing.T) {
	for _, dbName := range modelstest.DBNames {
		t.Run(dbName, func(t *testing.T) {
			dsn := cliEnv(t, dbName)["DATABASE_URL"]
			a := apptest.Instance(t, dsn)
			b := apptest.Instance(t, dsn)
			a.User("admin", models.LevelAdmin)
			member := a.User("member", models.LevelUser)
			key, token := a.APIKey("admin"), memberToken(t, a, member)
			onB := b.Client()
			for range 3 {
				oneOf(t, onB.API("GET", "/api/v1/users/me", key, nil), http.StatusOK)
				oneOf(t, onB.API("GET", "/api/v1/users/me", token, nil), http.StatusOK)
			}
			bound := 2 * time.Second
			if dbName == "pg" {
				bound = 100 * time.Millisecond
			}
			if _, err := a.Users.RevokeAPIKey(context.Background(), models.System, keyID(t, a, key)); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			within(t, start, bound, "a key revoked on the first server refused on the second", func() bool {
				return onB.API("GET", "/api/v1/users/me", key, nil).StatusCode == http.StatusUnauthorized
			})
			if _, err := a.Users.Block(context.Background(), models.System, member.ID, "test"); err != nil {
				t.Fatal(err)
			}
			start = time.Now()
			within(t, start, bound, "a token of an account banned on the first server refused on the second", func() bool {
				return onB.API("GET", "/api/v1/users/me", token, nil).StatusCode == http.StatusUnauthorized
			})
		})
	}
}

func memberToken(t *testing.T, env *apptest.Env, u *models.User) string {
	t.Helper()
	_, token, err := env.Users.CreateKey(context.Background(), models.Actor{User: u}, models.NewAPIKey{Name: "app", Kind: models.KindToken})
	if err != nil {
		t.Fatal(err)
	}
	return token
}
