package app_test

import (
	"os"
	"testing"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

// The built-in profile page and the same page as a site script
// (scripts/bench-site), through the whole application. scripts/bench.sh
// (SITE=1) measures them over HTTP; docs/performance.md has the figures.
func BenchmarkSiteProfile(b *testing.B) {
	dir := "../scripts/bench-site"
	if d := os.Getenv("BENCH_SITE_DIR"); d != "" {
		dir = d
	}
	env := apptest.New(b, "sqlite", siteAt(dir, "/site"))
	env.User("member", models.LevelUser)
	env.User("other", models.LevelUser)
	c := env.SignedIn("member")
	for _, p := range []struct{ name, path string }{
		{"go", "/profile/other"},
		{"lua", "/site/profile/other"},
		{"lua-text", "/site/text"},
		{"lua-get", "/site/get/other"},
		{"lua-render", "/site/render/other"},
	} {
		if res := c.Get(p.path); res.StatusCode != 200 {
			if p.name == "go" || p.name == "lua" {
				b.Fatalf("%s: %d %s", p.path, res.StatusCode, res.Text())
			}
			continue
		}
		b.Run(p.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				c.Get(p.path)
			}
		})
	}
}
