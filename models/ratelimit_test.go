package models_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// sharedHits reads a key's shared total.
func sharedHits(t *testing.T, db *bun.DB, name, key string) int64 {
	t.Helper()
	var hits int64
	err := db.NewSelect().Table("rate_counters").Column("hits").Where("key = ?", name+":"+key).Scan(context.Background(), &hits)
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// hammer sends hits on key from workers goroutines on each limiter at
// once, each until it has sent per hits or is refused (when stopAtRefusal),
// and returns how many were admitted.
func hammer(t *testing.T, limiters []*models.Limiter, key string, workers, per int, stopAtRefusal bool) int64 {
	t.Helper()
	var admitted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, l := range limiters {
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for range per {
					v, err := l.Hit(context.Background(), key)
					if err != nil {
						t.Error(err)
						return
					}
					if v.Allowed {
						admitted.Add(1)
					} else if stopAtRefusal {
						return
					}
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	return admitted.Load()
}

// Two services on one database (two instances) counting the same key at
// the same instant lose no hit: once each has settled what it holds, the
// shared total is every hit admitted, batched or not.
func TestLimiterLosesNoHitsAcrossInstances(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		clock := modelstest.NewClock()
		one, two := modelstest.Service(db, clock), modelstest.Service(db, clock)
		for _, batch := range []int{1, 7, 0} { // 0: Max/100, so only Every settles
			name := "lost" + strconv.Itoa(batch)
			l := models.Limit{Name: name, Max: 1 << 30, Window: time.Hour, Batch: batch, Every: time.Millisecond}
			ls := []*models.Limiter{one.Limiter(l), two.Limiter(l)}
			admitted := hammer(t, ls, "k", 4, 60, false)
			if admitted != 2*4*60 {
				t.Fatalf("batch %d: %d admitted far below the limit", batch, admitted)
			}
			for _, s := range []*models.Service{one, two} { // as each does before it stops
				if err := s.FlushLimiters(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if got := sharedHits(t, db, name, "k"); got != admitted {
				t.Errorf("batch %d: shared total %d after %d hits: %d lost", batch, got, admitted, admitted-got)
			}
		}
	})
}

// The limit holds across instances: settled on every hit (Batch 1)
// exactly, batched within the documented slack of Batch hits per
// instance; a single instance is exact either way.
func TestLimiterHoldsAcrossInstances(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		clock := modelstest.NewClock()
		one, two := modelstest.Service(db, clock), modelstest.Service(db, clock)
		const max = 100
		for _, c := range []struct {
			batch, instances int
		}{{1, 2}, {5, 2}, {5, 1}, {20, 1}} {
			name := "hold" + strconv.Itoa(c.batch) + "x" + strconv.Itoa(c.instances)
			l := models.Limit{Name: name, Max: max, Window: time.Hour, Batch: c.batch, Every: time.Hour}
			ls := []*models.Limiter{one.Limiter(l), two.Limiter(l)}[:c.instances]
			admitted := hammer(t, ls, "k", 6, 2*max, true)
			slack := int64(0)
			if c.instances > 1 && c.batch > 1 {
				slack = int64(c.instances * c.batch)
			}
			if admitted < max || admitted > max+slack {
				t.Errorf("batch %d on %d instances: %d admitted, want %d to %d", c.batch, c.instances, admitted, max, max+slack)
			}
			// Refused from now on, on every instance, without losing count.
			for _, l := range ls {
				if v, err := l.Hit(context.Background(), "k"); err != nil || v.Allowed || v.Remaining != 0 {
					t.Errorf("batch %d: after the limit: %+v %v", c.batch, v, err)
				}
			}
		}
	})
}

// Windows: a new one starts counting again; Reset says when; Undo takes
// a hit back; keys and limiters don't mix.
func TestLimiterWindows(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		for _, batch := range []int{1, 2} {
			name := "win" + strconv.Itoa(batch)
			l := e.svc.Limiter(models.Limit{Name: name, Max: 3, Window: time.Minute, Batch: batch})
			other := e.svc.Limiter(models.Limit{Name: name + "other", Max: 3, Window: time.Minute, Batch: batch})
			var last models.Verdict
			for i := range 3 {
				v, err := l.Hit(e.ctx, "k")
				if err != nil || !v.Allowed || v.Remaining != 2-i || v.Max != 3 || v.Reset <= 0 || v.Reset > time.Minute {
					t.Fatalf("batch %d, hit %d: %+v %v", batch, i+1, v, err)
				}
				last = v
			}
			if v, _ := l.Hit(e.ctx, "k"); v.Allowed {
				t.Fatalf("batch %d: the fourth hit was allowed", batch)
			}
			if v, _ := l.Hit(e.ctx, "k2"); !v.Allowed {
				t.Fatalf("batch %d: another key was refused", batch)
			}
			if v, _ := other.Hit(e.ctx, "k"); !v.Allowed {
				t.Fatalf("batch %d: another limiter was refused", batch)
			}
			if batch == 1 { // settled at once: Undo gives one back
				e.check(l.Undo(e.ctx, "k", last))
				if v, _ := l.Hit(e.ctx, "k"); !v.Allowed {
					t.Fatal("refused after an undo")
				}
			}
			e.clock.Advance(time.Minute)
			if v, err := l.Hit(e.ctx, "k"); err != nil || !v.Allowed || v.Remaining != 2 {
				t.Fatalf("batch %d: the next window: %+v %v", batch, v, err)
			}
		}
		e.clock.Advance(time.Hour)
		if n, err := e.svc.PruneCounters(e.ctx); err != nil || n < 3 {
			t.Fatalf("prune: %d %v", n, err)
		}
	})
}

// BenchmarkLimiter measures one limited request on each database: a
// single hot key (batched: settled every 50 ms), a key per goroutine, and
// a limit settled on every hit (exact, as the sign-up and mail limits).
//
//	go test -bench Limiter -run '^$' ./models
func BenchmarkLimiter(b *testing.B) {
	for _, name := range modelstest.DBNames {
		b.Run(name, func(b *testing.B) {
			db := modelstest.Open(b, name)
			svc := models.NewService(db, models.Options{Argon2: modelstest.FastArgon2})
			ctx := context.Background()
			for _, c := range []struct {
				name  string
				batch int
				hot   bool
			}{{"hot key", 0, true}, {"key per client", 0, false}, {"exact", 1, false}} {
				l := svc.Limiter(models.Limit{Name: c.name, Max: 1 << 40, Window: time.Minute, Batch: c.batch})
				b.Run(c.name, func(b *testing.B) {
					var n atomic.Int64
					b.RunParallel(func(pb *testing.PB) {
						key := "hot"
						if !c.hot {
							key = "key" + strconv.FormatInt(n.Add(1), 10)
						}
						for pb.Next() {
							if v, err := l.Hit(ctx, key); err != nil || !v.Allowed {
								b.Fatal(v, err)
							}
						}
					})
				})
			}
		})
	}
}
