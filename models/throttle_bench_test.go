package models_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// BenchmarkThrottle measures what the shared counters cost a request on
// each database: the check before a guess, and a counted failure (request
// limits: BenchmarkLimiter).
//
//	go test -bench Throttle -run '^$' ./models
func BenchmarkThrottle(b *testing.B) {
	for _, name := range modelstest.DBNames {
		b.Run(name, func(b *testing.B) {
			db := modelstest.Open(b, name)
			svc := models.NewService(db, models.Options{Argon2: modelstest.FastArgon2})
			ctx := context.Background()
			b.Run("check a guess", func(b *testing.B) {
				var n atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					g := models.Guess{AccountID: n.Add(1), IP: "192.0.2.1"}
					for pb.Next() {
						if err := svc.CheckGuess(ctx, g); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
			b.Run("count a failure", func(b *testing.B) {
				var n atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					i := n.Add(1)
					for pb.Next() {
						i++
						g := models.Guess{Login: "nobody" + strconv.FormatInt(i, 10), IP: "192.0.2." + strconv.FormatInt(i%250, 10)}
						if err := svc.CountFailure(ctx, models.Meta{}, g); err != nil {
							if _, locked := err.(*models.LockedError); !locked {
								b.Fatal(err)
							}
						}
					}
				})
			})
		})
	}
}
