package handlers

import (
	"net/http"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/template/html/v2"
	"github.com/valyala/fasthttp"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/views"
)

// BenchmarkDrawProfile draws a member's view of another member's profile
// inside the layout, as GET /profile/:username does: "drawn" with every
// template run, "kept" with the nav bar and the profile found among the
// drawn fragments (accounts read through the account cache carry a
// Snapshot).
func BenchmarkDrawProfile(b *testing.B) {
	engine := html.NewFileSystem(http.FS(views.FS), ".html")
	engine.AddFuncMap(TemplateFuncs())
	if err := engine.Load(); err != nil {
		b.Fatal(err)
	}
	app := fiber.New()
	for _, bc := range []struct {
		name     string
		snapshot uint64
	}{{"drawn", 0}, {"kept", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			h := &Handler{Views: engine, Opts: Options{SiteName: "Webmin", Registration: "open", Version: "dev"}}
			now := time.Now()
			email := "other@example.com"
			me := &models.User{ID: 1, Username: "bench_member", Name: "Bench Member", Level: 1, CreatedAt: now, LastSeenAt: &now, Snapshot: bc.snapshot}
			other := &models.User{ID: 2, Username: "bench_other", Name: "Another Member", Email: &email, Level: 1, Points: 1234,
				CreatedAt: now.Add(-400 * 24 * time.Hour), LastSeenAt: &now, Snapshot: bc.snapshot}
			c := app.AcquireCtx(&fasthttp.RequestCtx{})
			defer app.ReleaseCtx(c)
			c.Request().SetRequestURI("/profile/bench_other")
			c.Locals(localMe, me)
			c.Locals(localCSRF, "Dp5jv9d4MBDzLgazacMAHwAAAABrBQS7.za8yLKVhmAcInbscA-HycNCVbDhfTcm1Qne2P4nzopE")
			b.ReportAllocs()
			size := 0
			for b.Loop() {
				body, err := h.draw(c, tplProfile, Page{Title: other.Username, Data: fiber.Map{
					"Profile": other, "IsOwner": false, "Online": true, "ShowEmail": false,
				}, Key: profileKey(other, false, true, false)})
				if err != nil {
					b.Fatal(err)
				}
				size = len(body)
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}
