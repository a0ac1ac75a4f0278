package app_test

import (
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// figure reads the number a page shows in the element with id (its
// data-count or data-total), or -1.
func figure(body, id string) int {
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*? data-(?:count|total)="(\d+)"`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// within retries cond until it holds or d has passed since start.
func within(t *testing.T, start time.Time, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Two servers on one database and the command line beside them behave as
// one site: what one changes, the other's dashboard, role counts, list
// total and sign-up chart show within 2 s, and a ban on one ends the
// member's session on the other (within 100 ms on PostgreSQL, where
// LISTEN/NOTIFY tells the other server at once; within 2 s on SQLite,
// where each process polls the database's change counter every second).
func TestInstancesFollowEachOther(t *testing.T) {
	for _, dbName := range modelstest.DBNames {
		t.Run(dbName, func(t *testing.T) {
			env := cliEnv(t, dbName)
			dsn := env["DATABASE_URL"]
			if dbName == "sqlite" {
				dsn = filepath.Join(t.TempDir(), "shared.db")
				env["DATABASE_URL"] = dsn
			}
			a := apptest.Instance(t, dsn)
			b := apptest.Instance(t, dsn)
			ctx := context.Background()
			a.User("root", models.LevelSuperadmin)
			alice := a.User("alice", models.LevelUser)

			admin := a.SignedIn("root")
			dashboard := func() string { return admin.Get("/admin").Body }
			listTotal := func() int { return figure(admin.Get("/admin/users").Body, "users-total") }
			home := a.Client()
			if d := dashboard(); figure(d, "stat-total") != 2 || figure(d, "stat-role-superadmin") != 1 || listTotal() != 2 {
				t.Fatalf("before: total %d, superadmins %d", figure(d, "stat-total"), figure(d, "stat-role-superadmin"))
			}

			// The second server creates an account.
			start := time.Now()
			if _, err := b.Users.Create(ctx, models.System, models.NewUser{Username: "bob", Password: apptest.Password}); err != nil {
				t.Fatal(err)
			}
			within(t, start, 2*time.Second, "an account made on the second server", func() bool {
				return figure(dashboard(), "stat-total") == 3 && listTotal() == 3
			})

			// The command line makes a superadmin and fifty demo accounts.
			start = time.Now()
			if code, out, errOut := runCLI(env, "s3cret-password\n", "user", "create", "--username", "Second",
				"--level", "10", "--password-stdin"); code != 0 {
				t.Fatalf("user create: %d %q %q", code, out, errOut)
			}
			within(t, start, 2*time.Second, "a superadmin made from the command line", func() bool {
				return figure(dashboard(), "stat-role-superadmin") == 2
			})
			start = time.Now()
			if code, out, errOut := runCLI(env, "", "demo", "--users", "50"); code != 0 {
				t.Fatalf("demo: %d %q %q", code, out, errOut)
			}
			within(t, start, 2*time.Second, "fifty demo accounts", func() bool {
				d := dashboard()
				st, err := a.Users.DashboardStats(ctx)
				if err != nil {
					t.Fatal(err)
				}
				signups := 0
				for _, day := range st.SignupsPerDay {
					signups += day.Count
				}
				// Demo sign-ups spread over a year; the chart shows the last 30 days.
				var inChart int
				e := a.DB.NewSelect().Table("users").ColumnExpr("count(*)").
					Where("created_at >= ?", time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -(models.StatsDays-1)))
				if err := e.Scan(ctx, &inChart); err != nil {
					t.Fatal(err)
				}
				total := figure(d, "stat-total")
				return total == 54 && listTotal() == 54 && signups == inChart &&
					figure(home.Get("/").Body, "total-users") == total-figure(d, "stat-deleted")
			})

			// A ban on the first server ends alice's session on the second.
			member := b.SignedIn("alice")
			if res := member.Get("/settings"); res.StatusCode != http.StatusOK {
				t.Fatalf("signed-in settings on the second server: %d", res.StatusCode)
			}
			res := admin.Post("/admin/users/"+strconv.FormatInt(alice.ID, 10)+"/block", map[string][]string{"reason": {"spam"}})
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("ban: %d %s", res.StatusCode, res.Body)
			}
			start = time.Now()
			bound := 2 * time.Second
			if dbName == "pg" {
				bound = 100 * time.Millisecond
			}
			within(t, start, bound, "the ban ending the session on the second server", func() bool {
				return member.Get("/settings").StatusCode == http.StatusSeeOther
			})
		})
	}
}

// A device signed out on one server is signed out on the other at once
// (PostgreSQL: NOTIFY; SQLite: the change counter, polled every second),
// though the other keeps sessions in memory.
func TestSignOutReachesTheOtherServer(t *testing.T) {
	for _, dbName := range modelstest.DBNames {
		t.Run(dbName, func(t *testing.T) {
			env := cliEnv(t, dbName)
			dsn := env["DATABASE_URL"]
			if dbName == "sqlite" {
				dsn = filepath.Join(t.TempDir(), "shared.db")
			}
			a := apptest.Instance(t, dsn)
			b := apptest.Instance(t, dsn)
			a.User("alice", models.LevelUser)
			laptop := a.SignedIn("alice")
			// The same cookie on the second server (a load balancer's next pick).
			onB := b.Client()
			onB.SetCookie("wm_session", laptop.Cookie("wm_session"))
			if res := onB.Get("/settings"); res.StatusCode != http.StatusOK {
				t.Fatalf("the session on the second server: %d", res.StatusCode)
			}
			if res := laptop.Post("/logout", nil); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-out: %d", res.StatusCode)
			}
			start := time.Now()
			bound := 2 * time.Second
			if dbName == "pg" {
				bound = 100 * time.Millisecond
			}
			within(t, start, bound, "the sign-out on the first server ending the session on the second", func() bool {
				return onB.Get("/settings").StatusCode == http.StatusSeeOther
			})
		})
	}
}
