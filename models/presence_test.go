package models_test

import (
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// presenceRow reads a visitor's row straight from the table.
func (e *env) presenceRow(visitor string) *models.Presence {
	e.t.Helper()
	p := new(models.Presence)
	if err := e.db.NewSelect().Model(p).Where("visitor_id = ?", visitor).Scan(e.ctx); err != nil {
		e.t.Fatalf("presence of %s: %v", visitor, err)
	}
	return p
}

func (e *env) touch(visitor string, userID *int64, page string) {
	e.t.Helper()
	e.check(e.svc.Touch(e.ctx, models.Visit{VisitorID: visitor, UserID: userID, Page: page, Meta: models.Meta{IP: "192.0.2.3"}}))
}

func TestTouchThrottles(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		u := e.user("visitor", 1, models.TypeActive)
		vid := models.MemberVisitor(u.ID)
		t0 := e.clock.Now()

		e.touch(vid, &u.ID, "/a")
		p := e.presenceRow(vid)
		if !p.LastSeenAt.Equal(t0) || p.Page != "/a" || p.UserID == nil || *p.UserID != u.ID || p.IP != "192.0.2.3" {
			t.Fatalf("first touch: %+v", p)
		}
		if got := e.reload(u); got.LastSeenAt == nil || !got.LastSeenAt.Equal(t0) {
			t.Fatalf("account last_seen_at %v", got.LastSeenAt)
		}

		// Within a minute: nothing is written.
		e.clock.Advance(59 * time.Second)
		e.touch(vid, &u.ID, "/b")
		if p := e.presenceRow(vid); !p.LastSeenAt.Equal(t0) || p.Page != "/a" {
			t.Fatalf("second touch within a minute wrote: %+v", p)
		}
		if got := e.reload(u); !got.LastSeenAt.Equal(t0) {
			t.Fatalf("account last_seen_at moved to %v", got.LastSeenAt)
		}

		// A minute after the first write: written again.
		e.clock.Advance(time.Second)
		t1 := e.clock.Now()
		e.touch(vid, &u.ID, "/c")
		if p := e.presenceRow(vid); !p.LastSeenAt.Equal(t1) || p.Page != "/c" {
			t.Fatalf("touch after a minute: %+v", p)
		}
		if got := e.reload(u); !got.LastSeenAt.Equal(t1) {
			t.Fatalf("account last_seen_at %v, want %v", got.LastSeenAt, t1)
		}
		if !e.svc.IsOnline(e.reload(u)) {
			t.Fatal("IsOnline false right after a visit")
		}

		// Throttling is per visitor: a guest is written at once.
		e.touch(models.GuestVisitor("cookie1"), nil, "/")
		if p := e.presenceRow("g:cookie1"); !p.LastSeenAt.Equal(t1) || p.UserID != nil {
			t.Fatalf("guest %+v", p)
		}
		// No visitor id: nothing to do.
		e.check(e.svc.Touch(e.ctx, models.Visit{}))
	})
}

func TestOnline(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		old := e.user("old", 1, models.TypeActive)
		u1 := e.user("one", 1, models.TypeActive)
		u2 := e.user("two", 1, models.TypeActive)

		e.touch(models.MemberVisitor(old.ID), &old.ID, "/a")
		e.touch(models.GuestVisitor("old"), nil, "/a")
		e.clock.Advance(5*time.Minute + time.Second) // those two are now offline
		e.touch(models.MemberVisitor(u1.ID), &u1.ID, "/a")
		e.touch(models.GuestVisitor("g1"), nil, "/a")
		e.clock.Advance(10 * time.Second)
		e.touch(models.MemberVisitor(u2.ID), &u2.ID, "/b")
		e.touch(models.GuestVisitor("g2"), nil, "/c")

		visitors := func(p models.Page[models.Presence]) []string {
			var out []string
			for _, it := range p.Items {
				out = append(out, it.VisitorID)
			}
			return out
		}
		online := func(f models.OnlineFilter) models.Page[models.Presence] {
			t.Helper()
			p, err := e.svc.Online(e.ctx, f)
			e.check(err)
			return p
		}
		m1, m2 := models.MemberVisitor(u1.ID), models.MemberVisitor(u2.ID)
		cases := []struct {
			f    models.OnlineFilter
			want []string
		}{
			{models.OnlineFilter{}, []string{"g:g2", m2, "g:g1", m1}},
			{models.OnlineFilter{Kind: "members"}, []string{m2, m1}},
			{models.OnlineFilter{Kind: "Guests"}, []string{"g:g2", "g:g1"}},
			{models.OnlineFilter{UserID: u1.ID}, []string{m1}},
			{models.OnlineFilter{UserID: old.ID}, nil},
			{models.OnlineFilter{PageID: "/a"}, []string{"g:g1", m1}},
			{models.OnlineFilter{PageID: "/a", Kind: "guests"}, []string{"g:g1"}},
			{models.OnlineFilter{PageID: "/nowhere"}, nil},
		}
		for _, c := range cases {
			p := online(c.f)
			if got := visitors(p); !slices.Equal(got, c.want) || p.Total != len(c.want) {
				t.Errorf("%+v: got %v (total %d), want %v", c.f, got, p.Total, c.want)
			}
		}
		p := online(models.OnlineFilter{Kind: "members"})
		for _, it := range p.Items {
			if it.User == nil || it.User.ID != *it.UserID || (it.User.Username != "one" && it.User.Username != "two") {
				t.Errorf("member without its account: %+v", it)
			}
		}
		for _, it := range online(models.OnlineFilter{Kind: "guests"}).Items {
			if it.User != nil || it.UserID != nil {
				t.Errorf("guest with an account: %+v", it)
			}
		}
		p = online(models.OnlineFilter{Limit: 3, Page: 2})
		if got := visitors(p); !slices.Equal(got, []string{m1}) || p.Total != 4 || p.TotalPages() != 2 {
			t.Errorf("page 2 of 3: %v total %d", got, p.Total)
		}
		p = online(models.OnlineFilter{Limit: 500})
		if p.Limit != models.MaxLimit {
			t.Errorf("limit %d", p.Limit)
		}

		members, guests, err := e.svc.OnlineCounts(e.ctx)
		if err != nil || members != 2 || guests != 2 {
			t.Fatalf("counts %d %d %v", members, guests, err)
		}
		c, err := e.svc.Counts(e.ctx)
		if err != nil || c.Members != 2 || c.Guests != 2 || c.Total != 3 {
			t.Fatalf("home counts %+v %v", c, err)
		}

		// Signing out forgets the visitor.
		e.check(e.svc.ForgetVisitor(e.ctx, m1))
		e.check(e.svc.ForgetVisitor(e.ctx, "g:g1"))
		members, guests, err = e.svc.OnlineCounts(e.ctx)
		if err != nil || members != 1 || guests != 1 {
			t.Fatalf("counts after sign-out %d %d %v", members, guests, err)
		}
		// The home page counts are cached for a moment.
		if c, _ := e.svc.Counts(e.ctx); c.Members != 2 {
			t.Fatalf("home counts not cached: %+v", c)
		}
		e.clock.Advance(3 * time.Second)
		if c, _ := e.svc.Counts(e.ctx); c.Members != 1 || c.Guests != 1 {
			t.Fatalf("home counts not refreshed: %+v", c)
		}
		// A visitor forgotten is written again on its next visit.
		e.touch(m1, &u1.ID, "/again")
		if p := e.presenceRow(m1); p.Page != "/again" {
			t.Fatalf("after sign-out: %+v", p)
		}

		// Everyone leaves; a day later the rows are pruned.
		e.clock.Advance(5*time.Minute + time.Second)
		members, guests, err = e.svc.OnlineCounts(e.ctx)
		if err != nil || members != 0 || guests != 0 {
			t.Fatalf("counts later %d %d %v", members, guests, err)
		}
		if p := online(models.OnlineFilter{}); p.Total != 0 || len(p.Items) != 0 {
			t.Fatalf("online later: %v", visitors(p))
		}
		e.clock.Advance(24 * time.Hour)
		e.touch(models.GuestVisitor("new"), nil, "/")
		n, err := e.svc.PrunePresence(e.ctx)
		if err != nil || n != 5 {
			t.Fatalf("pruned %d %v", n, err)
		}
		if _, guests, _ := e.svc.OnlineCounts(e.ctx); guests != 1 {
			t.Fatalf("pruned the fresh visitor too")
		}
	})
}
