package app_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// cutProxy forwards TCP connections to the PostgreSQL server until Cut:
// then it drops every connection and each new one at once, as a failed
// network path or a stopped server would.
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

func startProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	t.Cleanup(func() { _ = ln.Close(); p.Cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.cut {
				p.mu.Unlock()
				_ = c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				_ = c.Close()
				continue
			}
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) Addr() string { return p.ln.Addr().String() }

// Cut drops every connection and refuses new ones until Restore.
func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) Restore() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

// During a database outage pages answer 503 with Retry-After (an HTML page,
// and JSON under /api), not 500; once it is back, they work again.
func TestDatabaseOutageAnswers503(t *testing.T) {
	for _, dbName := range modelstest.DBNames {
		t.Run(dbName, func(t *testing.T) {
			var env *apptest.Env
			var outage, back func()
			switch dbName {
			case "pg":
				proxy := startProxy(t, "127.0.0.1:5432")
				env = apptest.NewOn(t, dbName, modelstest.OpenPGVia(t, proxy.Addr()))
				outage, back = proxy.Cut, proxy.Restore
			default:
				// SQLite is a file in the process: the outage is its pool
				// being closed (as at shutdown).
				env = apptest.New(t, dbName)
				outage = func() { _ = env.DB.Close() }
			}
			env.User("kim", models.LevelUser)
			env.User("admin", models.LevelAdmin)
			key := env.APIKey("admin")
			c := env.Client()
			wantStatus(t, c.Get("/profile/kim"), http.StatusOK)

			outage()
			res := c.Get("/profile/lee")
			wantStatus(t, res, http.StatusServiceUnavailable)
			wantContains(t, res, "Back in a moment", "Try again in a few seconds.")
			if res.Header.Get("Retry-After") != "5" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
				t.Errorf("page: Retry-After %q, Content-Type %q", res.Header.Get("Retry-After"), res.Header.Get("Content-Type"))
			}
			api := c.API("GET", "/api/v1/users", key, nil)
			wantAPIError(t, api, http.StatusServiceUnavailable, "")
			if api.Header.Get("Retry-After") != "5" {
				t.Errorf("API: Retry-After %q", api.Header.Get("Retry-After"))
			}
			wantStatus(t, c.Post("/login", url.Values{"login": {"kim"}, "password": {apptest.Password}}), http.StatusServiceUnavailable)
			wantStatus(t, c.Get("/readyz"), http.StatusServiceUnavailable)
			if back != nil {
				back()
				wantStatus(t, c.Get("/profile/kim"), http.StatusOK)
				wantStatus(t, c.Get("/readyz"), http.StatusOK)
			}
		})
	}
}

// A pooled connection that PostgreSQL has killed (pg_terminate_backend:
// SQLSTATE 57P01) is dropped before use, and a read that meets one anyway
// is run again on another connection: requests succeed.
func TestKilledConnectionRetried(t *testing.T) {
	env := apptest.New(t, "pg")
	env.User("kim", models.LevelUser)
	env.User("admin", models.LevelAdmin)
	key := env.APIKey("admin")
	c := env.Client()
	for round := range 3 {
		killIdleConnections(t, env)
		if res := c.API("GET", "/api/v1/users", key, nil); res.StatusCode != http.StatusOK {
			t.Fatalf("round %d: API after pg_terminate_backend: %d\n%s", round, res.StatusCode, res.Body)
		}
		killIdleConnections(t, env)
		if res := c.Get("/profile/lee" + strconv.Itoa(round)); res.StatusCode != http.StatusNotFound {
			t.Fatalf("round %d: page after pg_terminate_backend: %d\n%s", round, res.StatusCode, res.Text())
		}
		// A write is never retried, so it must not be sent on a killed
		// connection at all: the pool drops them before use.
		killIdleConnections(t, env)
		if _, err := env.DB.NewUpdate().Table("users").Set("points = points + 1").Where("username = 'kim'").Exec(context.Background()); err != nil {
			t.Fatalf("round %d: write after pg_terminate_backend: %v", round, err)
		}
	}
}

// killIdleConnections leaves the pool's idle connections killed by the
// server: it takes three connections, puts two back idle and kills them
// with pg_terminate_backend from the third.
func killIdleConnections(t *testing.T, env *apptest.Env) {
	t.Helper()
	ctx := context.Background()
	var held []bun.Conn
	var pids []int
	for range 3 {
		cn, err := env.DB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var pid int
		if err := cn.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		held, pids = append(held, cn), append(pids, pid)
	}
	_ = held[0].Close()
	_ = held[1].Close()
	killer := held[2]
	defer killer.Close()
	for _, pid := range pids[:2] {
		var ok bool
		if err := killer.QueryRowContext(ctx, "SELECT pg_terminate_backend(?)", pid).Scan(&ok); err != nil || !ok {
			t.Fatalf("terminate %d: %v %v", pid, ok, err)
		}
	}
	for { // until both are gone, so that the next request finds them dead
		var n int
		if err := killer.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE pid IN (?, ?)", pids[0], pids[1]).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
