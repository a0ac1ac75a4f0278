package app_test

import (
	"context"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/webmin/webmin/app"
	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

// A page of 50 accounts from the JSON API as an admin's key sees them
// (every field), through the whole application. After the first request
// the page comes from the console cache, so this is what a client polling
// a list costs the server: the key, the limiter and writing 50 accounts
// as JSON. scripts/bench-matrix.sh measures the same over HTTP at a
// million accounts; docs/performance.md has the figures.
func BenchmarkAPIUsersPage(b *testing.B) {
	env := apptest.New(b, "sqlite", func(c *app.Config) { c.APIRateLimit = 1 << 30 })
	env.User("boss", models.LevelAdmin)
	if err := env.Users.Seed(context.Background(), 200, nil); err != nil {
		b.Fatal(err)
	}
	key := env.APIKey("boss")
	c := env.Client()
	const path = "/api/v1/users?sort=-points&limit=50"
	var page struct{ Data []map[string]any }
	res := c.API("GET", path, key, nil)
	if res.StatusCode != 200 {
		b.Fatalf("%s: %d %s", path, res.StatusCode, res.Body)
	}
	if res.JSON(b, &page); len(page.Data) != 50 {
		b.Fatalf("%s: %d accounts, want 50", path, len(page.Data))
	}
	// Straight into the application's handler, as fasthttp calls it for
	// each request: no connection, no client, no contract check.
	handler := env.Server.Fiber.Handler()
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURI(path)
		ctx.Request.Header.Set("Authorization", "Bearer "+key)
		handler(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("%s: %d %s", path, ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}
