package models_test

import (
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/webmin/webmin/migrations"
	"github.com/webmin/webmin/models"
)

// bulkBenchService opens BULK_BENCH_DATABASE_URL — a database these
// benchmarks may change: a copy, never someone's reference database —
// or seeds a small SQLite one. BULK_BENCH_FROM and BULK_BENCH_TO (dates)
// choose the accounts, by creation day (all of them by default).
func bulkBenchService(b *testing.B) (*models.Service, models.Filter) {
	ctx := context.Background()
	dsn := os.Getenv("BULK_BENCH_DATABASE_URL")
	seed := dsn == ""
	if seed {
		dsn = filepath.Join(b.TempDir(), "bench.db")
	}
	db, err := models.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	if _, err := migrations.Up(ctx, db); err != nil {
		b.Fatal(err)
	}
	svc := models.NewService(db, models.Options{Argon2: models.DefaultArgon2})
	if seed {
		if err := svc.Seed(ctx, 2000, nil); err != nil {
			b.Fatal(err)
		}
	}
	var f models.Filter
	for env, dst := range map[string]*time.Time{"BULK_BENCH_FROM": &f.CreatedFrom, "BULK_BENCH_TO": &f.CreatedBefore} {
		if v := os.Getenv(env); v != "" {
			if *dst, err = time.Parse("2006-01-02", v); err != nil {
				b.Fatalf("%s: %v", env, err)
			}
		}
	}
	return svc, f
}

// BenchmarkBulkBan bans every account of the filter that isn't banned
// yet in one bulk job, batch after batch as the worker runs it, then
// (untimed) unbans them again so that the next run finds them as before.
//
//	BULK_BENCH_DATABASE_URL=postgres://…/webmin_bulk_1m BULK_BENCH_FROM=2026-10-01 BULK_BENCH_TO=2026-11-01 \
//	  go test -run '^$' -bench BulkBan -benchtime 1x ./models
func BenchmarkBulkBan(b *testing.B) {
	svc, f := bulkBenchService(b)
	ctx := context.Background()
	f.Type = "active"
	var banned int
	for b.Loop() {
		start := time.Now()
		j, err := svc.StartBulk(ctx, models.System, models.BulkRequest{Action: models.BulkBan, Reason: "benchmark", Filter: f})
		if err != nil {
			b.Fatal(err)
		}
		counted := time.Since(start)
		if _, err := svc.RunPendingBulk(ctx); err != nil {
			b.Fatal(err)
		}
		if j, err = svc.BulkJob(ctx, nil, j.ID); err != nil || j.Done != j.Total {
			b.Fatalf("job: %+v %v", j, err)
		}
		banned = j.Done
		b.ReportMetric(counted.Seconds(), "s-counting")
		b.StopTimer()
		f2 := f
		f2.Type = "blocked"
		u, err := svc.StartBulk(ctx, models.System, models.BulkRequest{Action: models.BulkUnban, Filter: f2})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.RunPendingBulk(ctx); err != nil {
			b.Fatal(err)
		}
		b.Logf("banned %d accounts (job #%d), unbanned %d again (job #%d)", banned, j.ID, u.Total, u.ID)
		b.StartTimer()
	}
	b.ReportMetric(float64(banned), "accounts")
	b.ReportMetric(float64(banned)/(b.Elapsed().Seconds()/float64(b.N)), "accounts/s")
}

// BenchmarkExportCSV writes every account of the filter as CSV (the
// console's default columns) to nowhere, as the download does.
func BenchmarkExportCSV(b *testing.B) {
	svc, f := bulkBenchService(b)
	ctx := context.Background()
	rows := 0
	for b.Loop() {
		e, err := svc.PlanExport(nil, f, nil)
		if err != nil {
			b.Fatal(err)
		}
		w := csv.NewWriter(io.Discard)
		rows = 0
		err = svc.ExportUsers(ctx, e, func(rec []string) error {
			rows++
			return w.Write(rec)
		})
		w.Flush()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(rows)/(b.Elapsed().Seconds()/float64(b.N)), "rows/s")
}
