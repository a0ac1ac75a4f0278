package models_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

func TestMain(m *testing.M) { modelstest.Main(m) }

// password is what every account made by the helpers signs in with.
const password = "correct horse"

// env is one test's service on one database, with its clock.
type env struct {
	t     *testing.T
	ctx   context.Context
	db    *bun.DB
	svc   *models.Service
	clock *modelstest.Clock
}

func newEnv(t *testing.T, db *bun.DB) *env {
	clock := modelstest.NewClock()
	return &env{t: t, ctx: context.Background(), db: db, svc: modelstest.Service(db, clock), clock: clock}
}

// follow makes the service follow other processes' changes (Follow) for
// the rest of the test.
func (e *env) follow() {
	ctx, cancel := context.WithCancel(e.ctx)
	stopped := e.svc.Follow(ctx)
	e.t.Cleanup(func() {
		cancel()
		<-stopped
	})
}

// eventually waits up to 2 s (the bound for another process's changes)
// for cond. The service clock stands still meanwhile, so no cache expires.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: not seen within 2 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// user creates an account through the command-line actor, with the e-mail
// address name@example.com, then sets its type (the ban reason is "spam").
func (e *env) user(name string, level, typ int) *models.User {
	e.t.Helper()
	u, err := e.svc.Create(e.ctx, models.System, models.NewUser{
		Username: name, Email: strings.ToLower(name) + "@example.com", Password: password, Level: level,
	})
	if err != nil {
		e.t.Fatalf("create %s: %v", name, err)
	}
	switch typ {
	case models.TypeActive:
	case models.TypeBanned:
		u, err = e.svc.Block(e.ctx, models.System, u.ID, "spam")
	case models.TypeInactive:
		u, err = e.svc.Update(e.ctx, models.System, u.ID, models.Patch{Type: ptr(models.TypeInactive)})
	case models.TypeDeleted:
		u, err = e.svc.Delete(e.ctx, models.System, u.ID)
	default:
		e.t.Fatalf("user %s: type %d", name, typ)
	}
	if err != nil {
		e.t.Fatalf("set type of %s: %v", name, err)
	}
	return u
}

// as is the actor for u.
func as(u *models.User) models.Actor {
	return models.Actor{User: u, Meta: models.Meta{IP: "192.0.2.1", UserAgent: "test"}}
}

// reload reads u again.
func (e *env) reload(u *models.User) *models.User {
	e.t.Helper()
	got, err := e.svc.Get(e.ctx, u.ID)
	if err != nil {
		e.t.Fatalf("get %d: %v", u.ID, err)
	}
	return got
}

// events lists the audit log through the service, newest first.
func (e *env) events(f models.EventFilter) []models.Event {
	e.t.Helper()
	f.Limit = models.MaxLimit
	p, err := e.svc.Events(e.ctx, f)
	if err != nil {
		e.t.Fatalf("events: %v", err)
	}
	return p.Items
}

// lastEvent is the newest event of the action.
func (e *env) lastEvent(action string) models.Event {
	e.t.Helper()
	evs := e.events(models.EventFilter{Action: action})
	if len(evs) == 0 {
		e.t.Fatalf("no %s event", action)
	}
	return evs[0]
}

func ptr[T any](v T) *T { return &v }

// wantField fails unless err is a ValidationError naming field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var ve *models.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a validation error on %q, got %v", field, err)
	}
	if _, ok := ve.Fields[field]; !ok {
		t.Fatalf("want a validation error on %q, got %v", field, ve)
	}
}

// wantDenied fails unless err is a DeniedError.
func wantDenied(t *testing.T, err error) {
	t.Helper()
	var de *models.DeniedError
	if !errors.As(err, &de) {
		t.Fatalf("want denied, got %v", err)
	}
}

// wantConflict fails unless err is a ConflictError on field.
func wantConflict(t *testing.T, err error, field string) {
	t.Helper()
	var ce *models.ConflictError
	if !errors.As(err, &ce) || ce.Field != field {
		t.Fatalf("want a conflict on %q, got %v", field, err)
	}
}

// checkCensus fails unless the figures this service kept up to date
// through its own changes equal a count from scratch.
func (e *env) checkCensus() {
	e.t.Helper()
	kept, err := e.svc.Stats(e.ctx)
	e.check(err)
	models.ForgetStatsCaches(e.svc)
	counted, err := models.ComputeStats(e.ctx, e.svc)
	e.check(err)
	if kept.Total != counted.Total || !maps.Equal(kept.ByType, counted.ByType) || !maps.Equal(kept.ByRole, counted.ByRole) {
		e.t.Fatalf("figures kept %d %v %v, counted %d %v %v", kept.Total, kept.ByType, kept.ByRole, counted.Total, counted.ByType, counted.ByRole)
	}
}

// check fails the test on err.
func (e *env) check(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func idOf(p *int64) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}
