package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

// TestDashboardChartAxisFitsLargeNumbers: with 12,000 sign-ups and
// 1,234,567 logins on one day each, the sign-ups chart's axis reads 0,
// 10k, 20k (the logins' 0, 1M, 2M), and no label of either chart is cut at the edge of its drawing, on a desktop or a phone (where
// the labels are largest), in Chromium (SQLite only: the drawing doesn't
// depend on the database).
func TestDashboardChartAxisFitsLargeNumbers(t *testing.T) {
	s := startSite(t, "sqlite")
	ctx := context.Background()
	s.User("root", models.LevelSuperadmin)
	// The per-day counts the charts read (kept by the database's triggers
	// as accounts are made and people sign in), as a busy site has them.
	for _, c := range []struct {
		kind string
		ago  int
		n    int
	}{{"signup", 3, 12_000}, {"login", 5, 1_234_567}} {
		day := s.Clock.Now().AddDate(0, 0, -c.ago).Format("2006-01-02")
		if _, err := s.DB.NewRaw("INSERT INTO daily_counts (kind, day, n) VALUES (?, ?, ?)", c.kind, day, c.n).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}

	b := s.openBrowser("admin")
	b.signIn("root", apptest.Password, "/dashboard")
	for _, m := range []viewMode{viewModes[0], viewModes[2]} {
		b.setMode(m)
		b.open("console-"+m.Name, "/admin")
		if got := b.text("#chart-signups-caption"); !strings.Contains(got, "12,001 sign-ups in the last 30 days, most on") || !strings.HasSuffix(got, "(12,000)") {
			t.Errorf("%s: sign-ups caption %q", m.Name, got)
		}
		ctx, cancel := b.step()
		axis, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll("#chart-signups-caption ~ svg text.chart-axis"), e => e.textContent)`))
		if err != nil {
			cancel()
			b.fail("read the axis: %v", err)
		}
		lay, err := chromedp.Run(ctx, chromedp.Evaluate[layoutReport](layoutJS))
		cancel()
		if err != nil {
			b.fail("measure the charts: %v", err)
		}
		if len(axis) < 3 || strings.Join(axis[:3], " ") != "0 10k 20k" {
			t.Errorf("%s: the sign-ups axis reads %q, want 0 10k 20k first", m.Name, axis)
		}
		if got := b.text("#chart-logins-caption"); !strings.Contains(got, "1,234,568 logins in the last 30 days") {
			t.Errorf("%s: logins caption %q", m.Name, got)
		}
		if len(lay.Cut) > 0 {
			t.Errorf("%s: chart labels cut off: %s", m.Name, strings.Join(lay.Cut, "; "))
		}
		if lay.ScrollWidth > lay.ViewWidth {
			t.Errorf("%s: the console is %dpx wide on a %dpx screen", m.Name, lay.ScrollWidth, lay.ViewWidth)
		}
	}
}
