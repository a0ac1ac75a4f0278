package models_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

func TestEvents(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		start := e.clock.Now()
		admin := e.user("admin", 9, models.TypeActive) // user.create by the system
		e.clock.Advance(time.Hour)
		bob, err := e.svc.Create(e.ctx, as(admin), models.NewUser{Username: "bob", Password: password})
		e.check(err)
		_, err = e.svc.Block(e.ctx, as(admin), bob.ID, "rude")
		e.check(err)
		_, err = e.svc.Unblock(e.ctx, as(admin), bob.ID)
		e.check(err)
		e.clock.Advance(time.Hour)
		mid := e.clock.Now()
		_, err = e.svc.Login(e.ctx, models.Meta{IP: "198.51.100.1"}, "bob", password)
		e.check(err)
		_, err = e.svc.Login(e.ctx, models.Meta{}, "bob", "wrong password")
		if err == nil {
			t.Fatal("wrong password accepted")
		}
		e.svc.RecordLogout(e.ctx, as(bob))
		e.clock.Advance(time.Hour)
		_, err = e.svc.Delete(e.ctx, as(admin), bob.ID)
		e.check(err)
		e.check(e.svc.Record(e.ctx, as(admin), "mail.reset", &bob.ID, "sent"))

		actions := func(evs []models.Event) []string {
			var out []string
			for _, ev := range evs {
				out = append(out, ev.Action)
			}
			return out
		}
		all := e.events(models.EventFilter{})
		want := []string{"mail.reset", "user.delete", "logout", "login.failed", "login", "user.unban", "user.ban", "user.create", "user.create"}
		if got := actions(all); !slices.Equal(got, want) {
			t.Fatalf("all events, newest first: %v, want %v", got, want)
		}
		ban := all[6]
		if ban.Actor == nil || ban.Actor.Username != "admin" || ban.Target == nil || ban.Target.Username != "bob" ||
			ban.Detail != "rude" || ban.IP != "192.0.2.1" || ban.UserAgent != "test" || !ban.CreatedAt.Equal(start.Add(time.Hour)) {
			t.Fatalf("ban event %+v", ban)
		}
		if first := all[8]; first.ActorID != nil || first.Actor != nil || first.IP != "cli" || first.Target == nil || first.Target.ID != admin.ID {
			t.Fatalf("system event %+v", first)
		}

		cases := []struct {
			name string
			f    models.EventFilter
			want []string
		}{
			{"by actor", models.EventFilter{ActorID: admin.ID}, []string{"mail.reset", "user.delete", "user.unban", "user.ban", "user.create"}},
			{"by target", models.EventFilter{TargetID: bob.ID}, []string{"mail.reset", "user.delete", "logout", "login.failed", "login", "user.unban", "user.ban", "user.create"}},
			{"by target and actor", models.EventFilter{TargetID: bob.ID, ActorID: bob.ID}, []string{"logout", "login"}},
			{"exact action", models.EventFilter{Action: "login"}, []string{"login"}},
			{"exact action, padded", models.EventFilter{Action: " user.ban "}, []string{"user.ban"}},
			{"action prefix user.", models.EventFilter{Action: "user."}, []string{"user.delete", "user.unban", "user.ban", "user.create", "user.create"}},
			{"action prefix login.", models.EventFilter{Action: "login."}, []string{"login.failed"}},
			{"a wildcard is literal", models.EventFilter{Action: "user%"}, nil},
			{"an underscore is literal", models.EventFilter{Action: "_ser."}, nil},
			{"no prefix without the dot", models.EventFilter{Action: "user"}, nil},
			{"since", models.EventFilter{Since: mid}, []string{"mail.reset", "user.delete", "logout", "login.failed", "login"}},
			{"until (exclusive)", models.EventFilter{Until: mid}, []string{"user.unban", "user.ban", "user.create", "user.create"}},
			{"range", models.EventFilter{Since: start.Add(time.Hour), Until: mid.Add(time.Minute)},
				[]string{"logout", "login.failed", "login", "user.unban", "user.ban", "user.create"}},
			{"range in another time zone", models.EventFilter{Since: mid.In(time.FixedZone("X", -5*3600)), Until: mid.Add(time.Hour).In(time.FixedZone("Y", 9*3600))},
				[]string{"logout", "login.failed", "login"}},
			{"range and action", models.EventFilter{Since: mid, Action: "user."}, []string{"user.delete"}},
			{"nothing", models.EventFilter{Since: mid.Add(10 * time.Hour)}, nil},
		}
		for _, c := range cases {
			if got := actions(e.events(c.f)); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}

		p, err := e.svc.Events(e.ctx, models.EventFilter{Limit: 4, Page: 2})
		e.check(err)
		if got := actions(p.Items); !slices.Equal(got, want[4:8]) || p.Total != 9 || p.TotalPages() != 3 || !p.HasNext() {
			t.Fatalf("page 2 of 4: %v total %d", got, p.Total)
		}
		p, err = e.svc.Events(e.ctx, models.EventFilter{})
		e.check(err)
		if p.Limit != models.DefaultLimit || p.Page != 1 {
			t.Fatalf("defaults: limit %d page %d", p.Limit, p.Page)
		}
	})
}

// The audit log is in time order even when ids are not (events written by
// another server with its own clock, or back-dated by the demo seeder).
func TestEventsAreListedByTime(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		e.check(e.svc.Record(e.ctx, models.System, models.EvLogin, nil, "newer"))
		e.clock.Advance(-time.Hour)
		e.check(e.svc.Record(e.ctx, models.System, models.EvLogin, nil, "older, written later"))
		e.clock.Advance(2 * time.Hour)
		e.check(e.svc.Record(e.ctx, models.System, models.EvLogin, nil, "newest"))
		p, err := e.svc.Events(e.ctx, models.EventFilter{Action: models.EvLogin})
		e.check(err)
		var got []string
		for _, ev := range p.Items {
			got = append(got, ev.Detail)
		}
		if strings.Join(got, " | ") != "newest | newer | older, written later" {
			t.Fatalf("order: %q", got)
		}
	})
}

// Every page of the audit log, read from the nearer end and (past
// deferAfter) through its ids first, is the slice of the whole log it
// should be; totals by action come from event_counts.
func TestEventPagesFromEitherEnd(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		for i := range 20 {
			action := []string{models.EvLogin, models.EvBan, models.EvLogin, models.EvUnban}[i%4]
			e.check(e.svc.Record(e.ctx, models.System, action, nil, fmt.Sprint(i)))
			e.clock.Advance(time.Duration(i%3-1) * time.Minute) // not in id order
		}
		details := func(p models.Page[models.Event]) []string {
			var out []string
			for _, ev := range p.Items {
				out = append(out, ev.Detail)
			}
			return out
		}
		for _, deferred := range []bool{false, true} {
			if deferred {
				defer models.SetDeferAfter(0)()
			}
			for _, f := range []models.EventFilter{{}, {Action: models.EvLogin}, {Action: "user."}} {
				all := f
				all.Limit = 100
				p, err := e.svc.Events(e.ctx, all)
				e.check(err)
				whole := details(p)
				for page := 1; page <= len(whole)/3+2; page++ {
					pf := f
					pf.Limit, pf.Page = 3, page
					got, err := e.svc.Events(e.ctx, pf)
					e.check(err)
					want := whole[min(len(whole), (page-1)*3):min(len(whole), page*3)]
					if !slices.Equal(details(got), want) || got.Total != len(whole) || got.AtLeast {
						t.Errorf("%+v (deferred %t): %v (total %d), want %v (total %d)", pf, deferred, details(got), got.Total, want, len(whole))
					}
				}
			}
		}
	})
}
