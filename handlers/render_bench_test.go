package handlers

import (
	"net/http"
	"strings"
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

// A page whose layout comes from the kept fragments is byte for byte the
// page drawn whole, for members and visitors, any title (escaped) and a
// refresh; and the kept layout of one page never shows on another.
func TestKeptLayoutIsTheDrawnLayout(t *testing.T) {
	engine := html.NewFileSystem(http.FS(views.FS), ".html")
	engine.AddFuncMap(TemplateFuncs())
	if err := engine.Load(); err != nil {
		t.Fatal(err)
	}
	app := fiber.New()
	now := time.Now()
	email := "other@example.com"
	other := &models.User{ID: 2, Username: "bench_other", Name: "Another Member", Email: &email, Level: 1,
		CreatedAt: now.Add(-400 * 24 * time.Hour), LastSeenAt: &now}
	draw := func(h *Handler, me *models.User, title string, refresh int, snapshot uint64) string {
		c := app.AcquireCtx(&fasthttp.RequestCtx{})
		defer app.ReleaseCtx(c)
		c.Request().SetRequestURI("/profile/bench_other")
		if me != nil {
			m := *me
			m.Snapshot = snapshot
			c.Locals(localMe, &m)
			c.Locals(localCSRF, "token-of-"+me.Username)
		}
		o := *other
		o.Snapshot = snapshot
		data := fiber.Map{"Profile": &o, "IsOwner": false, "Online": true, "ShowEmail": false}
		if refresh > 0 {
			data["Refresh"] = refresh
		}
		body, err := h.draw(c, tplProfile, Page{Title: title, Data: data, Key: profileKey(&o, false, true, false)})
		if err != nil {
			t.Fatal(err)
		}
		return string(body)
	}
	kept := &Handler{Views: engine, Opts: Options{SiteName: "Webmin", Registration: "open", Version: "dev"}}
	whole := &Handler{Views: engine, Opts: Options{SiteName: "Webmin", Registration: "open", Version: "dev"}}
	member := &models.User{ID: 1, Username: "member", Level: 1, CreatedAt: now}
	admin := &models.User{ID: 3, Username: "admin", Level: 9, CreatedAt: now}
	for _, tc := range []struct {
		me      *models.User
		title   string
		refresh int
	}{
		{member, "bench_other", 0}, {member, `<b>"&'</b>`, 0}, {member, "bench_other", 2},
		{admin, "bench_other", 0}, {nil, "bench_other", 0}, {nil, "other title", 0},
	} {
		want := draw(whole, tc.me, tc.title, tc.refresh, 0) // no snapshot: nothing kept
		for i := 0; i < 2; i++ {                            // drawn and kept, then found
			if got := draw(kept, tc.me, tc.title, tc.refresh, 1); got != want {
				t.Fatalf("me %v, title %q, refresh %d, round %d: the kept layout differs:\n%s\nwant\n%s", tc.me, tc.title, tc.refresh, i, got, want)
			}
		}
	}
	if strings.Contains(draw(kept, member, "x", 0, 1), string(contentMark)) {
		t.Fatal("the content mark shows in a page")
	}
}
