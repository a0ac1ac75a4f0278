package models_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/webmin/webmin/migrations"
	"github.com/webmin/webmin/models"
)

// BenchmarkUsers measures the users service on a database of its own
// (2,000 seeded accounts on SQLite) or, when BENCH_DATABASE_URL names one
// (a postgres:// URL or a SQLite file path), on that database as it is —
// see docs/performance.md for building one with a million accounts.
// Login and Create add rows to it.
//
//	go test -bench . -run '^$' ./models
//	BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/webmin_bench?sslmode=disable go test -bench . -run '^$' ./models
func BenchmarkUsers(b *testing.B) {
	ctx := context.Background()
	svc := benchService(b)
	db := svc.DB()

	// A few real accounts to work on.
	var maxID int64
	if err := db.NewSelect().Model((*models.User)(nil)).ColumnExpr("max(u.id)").Scan(ctx, &maxID); err != nil {
		b.Fatal(err)
	}
	var sample []models.User
	if err := db.NewSelect().Model(&sample).Where("u.id >= ? AND u.type = ?", maxID/2, models.TypeActive).
		OrderExpr("u.id").Limit(100).Scan(ctx); err != nil || len(sample) == 0 {
		b.Fatalf("sample: %d accounts, %v", len(sample), err)
	}
	var count int
	if err := db.NewSelect().Model((*models.User)(nil)).ColumnExpr("count(*)").Scan(ctx, &count); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s, %d accounts", db.Dialect().Name(), count)

	// Substrings from the middle of usernames: of 20 accounts in turn
	// ("john.smith500123" → "hn.smith50012", what an admin types to find
	// someone), a surname that about one account in a hundred carries, and
	// two letters, too short for a trigram index (a scan on both databases).
	var middles []string
	for _, u := range sample[:min(20, len(sample))] {
		middles = append(middles, u.Username[2:len(u.Username)-1])
	}
	for _, c := range []struct {
		name  string
		terms []string
	}{{"middle", middles}, {"surname", []string{"arcia"}}, {"2chars", []string{"qz"}}} {
		b.Run("ListSearch/"+c.name, func(b *testing.B) {
			var matches, i int
			for b.Loop() {
				p, err := svc.List(ctx, models.Filter{Search: c.terms[i%len(c.terms)]})
				if err != nil {
					b.Fatal(err)
				}
				matches += p.Total
				i++
			}
			b.ReportMetric(float64(matches)/float64(i), "matches/op")
		})
	}
	b.Run("List/newest", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.List(ctx, models.Filter{Sort: "-created_at"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The floor under every query: one round trip to the database.
	b.Run("RoundTrip", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.ExecContext(ctx, "SELECT 1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Get reads the database with the account cache off; Get/cached is
	// what pages get for an account read in the last 30 seconds.
	uncached := models.NewService(db, models.Options{Argon2: models.DefaultArgon2, AccountCacheTTL: -1})
	for _, c := range []struct {
		name string
		svc  *models.Service
	}{{"Get", uncached}, {"Get/cached", svc}} {
		b.Run(c.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			for b.Loop() {
				if _, err := c.svc.Get(ctx, sample[r.IntN(len(sample))].ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("OnlineCounts", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := svc.OnlineCounts(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Cold: what a dashboard view pays after an account changed (the
	// census and the days before today cached); uncached: counted from
	// scratch, as on the first view (the census is counted again at most
	// once per StatsTTL, the days before today every ten minutes).
	b.Run("Stats/cold", func(b *testing.B) {
		for b.Loop() {
			if _, err := models.ComputeStats(ctx, svc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Stats/uncached", func(b *testing.B) {
		for b.Loop() {
			models.ForgetStatsCaches(svc)
			if _, err := models.ComputeStats(ctx, svc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Counts", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.Counts(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Stats/cached", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.Stats(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Login", func(b *testing.B) {
		u := sample[len(sample)-1]
		for b.Loop() {
			if _, err := svc.Login(ctx, models.Meta{IP: "192.0.2.1"}, u.Username, models.DemoPassword); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Create", func(b *testing.B) {
		prefix := fmt.Sprintf("bench%x", rand.Uint32())
		i := 0
		for b.Loop() {
			i++
			if _, err := svc.Create(ctx, models.System, models.NewUser{
				Username: fmt.Sprintf("%s-%d", prefix, i), Email: fmt.Sprintf("%s-%d@example.com", prefix, i),
				Password: "a benchmark password",
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchService opens BENCH_DATABASE_URL, or seeds a small SQLite database.
func benchService(b *testing.B) *models.Service {
	ctx := context.Background()
	dsn := os.Getenv("BENCH_DATABASE_URL")
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
	return svc
}
