package app_test

import (
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/webmin/webmin/app"
	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

func signIn(c *apptest.Client, login, password string) *apptest.Response {
	return c.Post("/login", url.Values{"login": {login}, "password": {password}})
}

func clientAt(env *apptest.Env, ip string) *apptest.Client {
	c := env.Client()
	c.IP = ip
	return c
}

// Five wrong passwords from one address lock the account from that
// address only: the owner signs in from another with the right password.
func TestSignInLockIsPerAddress(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("root", models.LevelSuperadmin)
		attacker := clientAt(env, "198.51.100.66")
		var res *apptest.Response
		for range 5 {
			res = signIn(attacker, "root", "wrong password")
		}
		wantStatus(t, res, http.StatusTooManyRequests)
		wantContains(t, res, "Too many failed attempts. Try again in 15 minutes.", `data-reset-link`, `href="/password/forgot"`,
			`name="login"`, `name="password"`)
		if ra, _ := strconv.Atoi(res.Header.Get("Retry-After")); ra < 890 || ra > 900 {
			t.Errorf("Retry-After %q, want about 900", res.Header.Get("Retry-After"))
		}
		// The right password from the attacker's address is still refused…
		wantStatus(t, signIn(attacker, "root", apptest.Password), http.StatusTooManyRequests)
		// …and the owner, elsewhere, signs in.
		wantRedirect(t, signIn(clientAt(env, "203.0.113.5"), "root", apptest.Password), "/dashboard")
		// The refused tries during the lock did not extend it.
		env.Clock.Advance(15*time.Minute + time.Second)
		wantRedirect(t, signIn(attacker, "root", apptest.Password), "/dashboard")
	})
}

// An unknown login locks exactly like a known one, so the lock tells
// nothing about which accounts exist.
func TestUnknownLoginLocksAlike(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("member1", models.LevelUser)
		run := func(login, ip string) []string {
			c := clientAt(env, ip)
			var seen []string
			for range 7 {
				res := signIn(c, login, "wrong password")
				seen = append(seen, strconv.Itoa(res.StatusCode)+" "+res.Header.Get("Retry-After"))
			}
			return seen
		}
		known, unknown := run("member1", "198.51.100.1"), run("member2", "198.51.100.2")
		if len(known) != len(unknown) {
			t.Fatal(known, unknown)
		}
		for i := range known {
			if known[i] != unknown[i] {
				t.Fatalf("known login answered %v, unknown %v", known, unknown)
			}
		}
		if known[3] != "401 " || known[4][:4] != "429 " {
			t.Fatalf("want 4 × 401 then 429s: %v", known)
		}
	})
}

// Correct sign-ins are never counted: 200 at once from one address (an
// office behind NAT) all succeed.
func TestConcurrentCorrectSignInsFromOneAddress(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("office", models.LevelUser)
		const n = 200
		clients := make([]*apptest.Client, n)
		for i := range clients {
			clients[i] = clientAt(env, "192.0.2.200")
			clients[i].CSRF()
		}
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				statuses[i] = signIn(clients[i], "office", apptest.Password).StatusCode
			})
		}
		wg.Wait()
		counts := map[int]int{}
		for _, s := range statuses {
			counts[s]++
		}
		if counts[http.StatusSeeOther] != n {
			t.Fatalf("200 correct sign-ins from one address: %v", counts)
		}
		// And the address is not locked afterwards.
		wantStatus(t, signIn(clientAt(env, "192.0.2.200"), "office", "wrong password"), http.StatusUnauthorized)
	})
}

// The current password of /settings/password is guessed like a sign-in.
func TestCurrentPasswordChecksLimited(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("kim", models.LevelUser)
		c := env.SignedIn("kim")
		change := func(current string) *apptest.Response {
			return c.Post("/settings/password", url.Values{"current_password": {current}, "password": {"a brand new password"}})
		}
		for range 4 {
			wantStatus(t, change("wrong password"), http.StatusUnprocessableEntity)
		}
		res := change("wrong password")
		wantStatus(t, res, http.StatusTooManyRequests)
		wantContains(t, res, "Too many failed attempts. Try again in 15 minutes.", `name="current_password"`, `data-reset-link`)
		if res.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		wantStatus(t, change(apptest.Password), http.StatusTooManyRequests)
		env.Clock.Advance(16 * time.Minute)
		wantRedirect(t, change(apptest.Password), "/settings")
	})
}

// Refused registrations are counted per address; the message naming a
// taken address may stay.
func TestFailedRegistrationsLimited(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("taken", models.LevelUser)
		c := clientAt(env, "198.51.100.9")
		register := func(c *apptest.Client, i int) *apptest.Response {
			return c.Post("/register", url.Values{"username": {"new" + strconv.Itoa(i)}, "email": {"taken@example.com"}, "password": {"long enough password"}})
		}
		for i := range 10 {
			wantStatus(t, register(c, i), http.StatusUnprocessableEntity)
		}
		res := register(c, 10)
		wantStatus(t, res, http.StatusTooManyRequests)
		wantContains(t, res, "Too many failed attempts. Try again in 1 hour.", `name="username"`)
		// Even a registration that would succeed waits, from this address.
		wantStatus(t, c.Post("/register", url.Values{"username": {"fresh"}, "email": {"fresh@example.com"}, "password": {"long enough password"}}),
			http.StatusTooManyRequests)
		wantStatus(t, register(clientAt(env, "198.51.100.10"), 11), http.StatusUnprocessableEntity)
	})
}

// Two servers on one database share the sign-in counters and the limits.
func TestTwoServersShareCounters(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, one *apptest.Env) {
		two := one.Another()
		one.User("joe", models.LevelUser)
		const ip = "198.51.100.77"
		for i := range 4 {
			env := one
			if i%2 == 1 {
				env = two
			}
			wantStatus(t, signIn(clientAt(env, ip), "joe", "wrong password"), http.StatusUnauthorized)
		}
		wantStatus(t, signIn(clientAt(two, ip), "joe", "wrong password"), http.StatusTooManyRequests)
		wantStatus(t, signIn(clientAt(one, ip), "joe", apptest.Password), http.StatusTooManyRequests)
		wantRedirect(t, signIn(clientAt(two, "198.51.100.78"), "joe", apptest.Password), "/dashboard")

		// Fiber's limiters count in the database too: three API requests a
		// minute, spread over both servers.
		one.User("admin", models.LevelAdmin)
		key := one.APIKey("admin")
		oneOf(t, one.Client().API("GET", "/api/v1/users/me", key, nil), http.StatusOK)
		oneOf(t, two.Client().API("GET", "/api/v1/users/me", key, nil), http.StatusOK)
		oneOf(t, one.Client().API("GET", "/api/v1/users/me", key, nil), http.StatusOK)
		wantAPIError(t, two.Client().API("GET", "/api/v1/users/me", key, nil), http.StatusTooManyRequests, "")

		// At the same instant too: twenty requests with another key, ten
		// on each server at once, and exactly three get through (a limit
		// this small is settled on every hit, models.Limiter).
		other := one.APIKey("admin")
		if got := concurrently(20, func(i int) int {
			env := one
			if i%2 == 1 {
				env = two
			}
			return env.Client().API("GET", "/api/v1/users/me", other, nil).StatusCode
		}); got[http.StatusOK] != 3 || got[http.StatusTooManyRequests] != 17 {
			t.Errorf("twenty requests at once on two servers: %v, want 3 × 200 and 17 × 429", got)
		}

		// Sign-ups per address (10 an hour, successes only), sixteen at
		// once from one address over both servers: exactly ten accounts.
		if got := concurrently(16, func(i int) int {
			env := one
			if i%2 == 1 {
				env = two
			}
			c := clientAt(env, "198.51.100.120")
			return c.Post("/register", url.Values{"username": {"burst" + strconv.Itoa(i)},
				"email": {"burst" + strconv.Itoa(i) + "@example.com"}, "password": {"long enough password"}}).StatusCode
		}); got[http.StatusSeeOther] != 10 || got[http.StatusTooManyRequests] != 6 {
			t.Errorf("sixteen sign-ups at once on two servers: %v, want 10 × 303 and 6 × 429", got)
		}
	}, func(cfg *app.Config) { cfg.APIRateLimit = 3 })
}

// concurrently runs n calls of fn at once and counts the statuses they return.
func concurrently(n int, fn func(i int) int) map[int]int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	got := map[int]int{}
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status := fn(i)
			mu.Lock()
			got[status]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return got
}

// Wrong two-factor codes are counted with wrong passwords, per account and
// address, in the shared counters: they lock that account from that
// address (on any instance), and the owner gets in from another.
func TestWrongCodesCountedLikePasswords(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, one *apptest.Env) {
		two := one.Another()
		one.User("tess", models.LevelUser)
		secret, _ := one.TurnOnMFA("tess")
		thief := clientAt(one, "198.51.100.99")
		// Three wrong passwords, then the right one and two wrong codes.
		for range 3 {
			wantStatus(t, signIn(thief, "tess", "wrong password"), http.StatusUnauthorized)
		}
		wantRedirect(t, signIn(thief, "tess", apptest.Password), "/login/2fa")
		wantStatus(t, thief.Post("/login/2fa", url.Values{"code": {"000000"}}), http.StatusUnauthorized)
		res := thief.Post("/login/2fa", url.Values{"code": {"000001"}})
		wantStatus(t, res, http.StatusTooManyRequests)
		// Locked from that address on the other instance too, right code or not.
		wantStatus(t, signIn(clientAt(two, "198.51.100.99"), "tess", apptest.Password), http.StatusTooManyRequests)
		// The owner, elsewhere.
		owner := clientAt(two, "203.0.113.44")
		wantRedirect(t, signIn(owner, "tess", apptest.Password), "/login/2fa")
		one.Clock.Advance(30 * time.Second)
		wantRedirect(t, owner.Post("/login/2fa", url.Values{"code": {one.TOTP(secret)}}), "/dashboard")
	})
}
