package models

import "context"

// ComputeStats runs the dashboard queries without the cache, for the
// benchmarks' cold figures.
func ComputeStats(ctx context.Context, s *Service) (*Stats, error) { return s.computeStats(ctx) }

// ForgetPastDays drops the cached per-day counts of the days before today.
func ForgetPastDays(s *Service) { s.forgetPastDays() }
