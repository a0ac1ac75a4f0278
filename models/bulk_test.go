package models_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// bulkEnv is env with a service whose bulk batches are small, and which
// chooses a job's accounts three ids at a time, so that a few accounts
// make several steps of each kind.
func bulkEnv(t *testing.T, db *bun.DB, batch int) *env {
	e := newEnv(t, db)
	e.svc = models.NewService(db, models.Options{Argon2: modelstest.FastArgon2, Now: e.clock.Now, BulkBatch: batch, BulkChooseRange: 3})
	return e
}

// stepBatch runs the steps that choose job id's accounts, then its next
// batch, and reports whether more remain.
func (e *env) stepBatch(svc *models.Service, id int64) bool {
	e.t.Helper()
	for {
		chosen := e.job(id).ChosenID >= e.job(id).MaxID
		more, err := svc.StepBulk(e.ctx, id)
		e.check(err)
		if chosen || !more {
			return more
		}
	}
}

// runAll carries out every pending job.
func (e *env) runAll() {
	e.t.Helper()
	if _, err := e.svc.RunPendingBulk(e.ctx); err != nil {
		e.t.Fatalf("run bulk jobs: %v", err)
	}
}

func (e *env) job(id int64) *models.BulkJob {
	e.t.Helper()
	j, err := e.svc.BulkJob(e.ctx, nil, id)
	e.check(err)
	return j
}

// bulkEvents counts the events of action written by bulk job id.
func (e *env) bulkEvents(action string, id int64) map[int64]models.Event {
	e.t.Helper()
	out := map[int64]models.Event{}
	for page := 1; ; page++ {
		p, err := e.svc.Events(e.ctx, models.EventFilter{Action: action, Page: page, Limit: models.MaxLimit})
		e.check(err)
		for _, ev := range p.Items {
			if strings.HasPrefix(ev.Via, fmt.Sprintf("bulk job #%d ", id)) {
				out[*ev.TargetID] = ev
			}
		}
		if !p.HasNext() {
			return out
		}
	}
}

func TestBulkDryRunCountIsTheRunsCount(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := bulkEnv(t, db, 3)
		e.user("root", 10, models.TypeActive)
		admin := e.user("admin", 9, models.TypeActive)
		peer := e.user("peer", 9, models.TypeActive)
		mod := e.user("mod", 7, models.TypeActive)
		var members []*models.User
		for i := range 11 {
			typ := []int{models.TypeActive, models.TypeActive, models.TypeInactive, models.TypeBanned}[i%4]
			members = append(members, e.user(fmt.Sprintf("member%02d", i), 1+i%5, typ))
		}
		deleted := e.user("gone", 2, models.TypeDeleted)

		req := models.BulkRequest{Action: models.BulkBan, Reason: "  spam wave ", Filter: models.Filter{Type: "all"}}
		p, err := e.svc.PreviewBulk(e.ctx, as(admin), req)
		e.check(err)
		// Ban: 9 members not banned + mod; skipped: admin itself, root and
		// peer (level), 2 banned members, the deleted account.
		want := map[string]int{models.SkipSelf: 1, models.SkipLevel: 2, models.SkipAlreadyBanned: 2, models.SkipDeleted: 1}
		if p.Matched != 16 || p.Eligible != 10 || !maps.Equal(p.Skipped, want) || p.SkippedTotal() != 6 {
			t.Fatalf("preview: matched %d eligible %d skipped %v", p.Matched, p.Eligible, p.Skipped)
		}
		if len(p.Sample) != models.BulkSampleSize || p.Sample[0].ID != mod.ID || !slices.IsSortedFunc(p.Sample, func(a, b models.User) int { return int(a.ID - b.ID) }) {
			t.Fatalf("sample: %d accounts, first %v", len(p.Sample), p.Sample[0].Username)
		}
		if e.reload(mod).Type != models.TypeActive {
			t.Fatal("the dry run changed an account")
		}

		j, err := e.svc.StartBulk(e.ctx, as(admin), req)
		e.check(err)
		if j.Status != models.JobQueued || j.Total != p.Eligible || j.Matched != p.Matched || !maps.Equal(j.Skipped, p.Skipped) {
			t.Fatalf("job as started: %+v", j)
		}
		start := e.lastEvent(models.EvBulk)
		if idOf(start.ActorID) != fmt.Sprint(admin.ID) || !strings.Contains(start.Detail, fmt.Sprintf("job #%d ban: 10 of 16", j.ID)) ||
			!strings.Contains(start.Detail, "spam wave") {
			t.Fatalf("bulk event: %+v", start)
		}
		e.runAll()
		j = e.job(j.ID)
		if j.Status != models.JobDone || j.Done != p.Eligible || j.Percent() != 100 || j.FinishedAt == nil {
			t.Fatalf("job after the run: status %s done %d of %d", j.Status, j.Done, j.Total)
		}
		evs := e.bulkEvents(models.EvBan, j.ID)
		if len(evs) != p.Eligible {
			t.Fatalf("%d ban events, want %d", len(evs), p.Eligible)
		}
		for _, u := range append(members, mod) {
			got := e.reload(u)
			ev, evented := evs[u.ID]
			switch {
			case u.Type == models.TypeBanned:
				if evented || got.BanReason != "spam" {
					t.Fatalf("%s was banned already: %+v", u.Username, got)
				}
			case got.Type != models.TypeBanned || got.BanReason != "spam wave" || got.SessionVersion != u.SessionVersion+1:
				t.Fatalf("%s not banned: %+v", u.Username, got)
			case !evented || ev.Detail != "spam wave" || idOf(ev.ActorID) != fmt.Sprint(admin.ID) || ev.IP != "192.0.2.1":
				t.Fatalf("%s: event %+v", u.Username, ev)
			}
		}
		for _, u := range []*models.User{admin, peer, deleted} {
			if got := e.reload(u); got.Type != u.Type {
				t.Fatalf("%s changed: type %d", u.Username, got.Type)
			}
		}
		e.checkCensus()

		// Again: nothing left to do, and a job with nothing to do is done at once.
		p, err = e.svc.PreviewBulk(e.ctx, as(admin), req)
		e.check(err)
		j, err = e.svc.StartBulk(e.ctx, as(admin), req)
		e.check(err)
		if p.Eligible != 0 || j.Total != 0 || j.Status != models.JobDone {
			t.Fatalf("second time: preview %d, job %d %s", p.Eligible, j.Total, j.Status)
		}
	})
}

func TestBulkSkipsWhatTheActorMayNotTouch(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := bulkEnv(t, db, 100)
		root := e.user("root", 10, models.TypeActive)
		admin := e.user("admin", 8, models.TypeActive)
		mod := e.user("mod", 6, models.TypeActive)
		e.user("mod2", 7, models.TypeActive)
		member := e.user("member", 5, models.TypeActive)
		e.user("old", 1, models.TypeDeleted)
		e.user("banned", 3, models.TypeBanned)
		all := models.Filter{}

		// Moderators ban and unban, below their level, and nothing else.
		p, err := e.svc.PreviewBulk(e.ctx, as(mod), models.BulkRequest{Action: models.BulkBan, Filter: all})
		e.check(err)
		if p.Eligible != 1 || p.Skipped[models.SkipLevel] != 3 || p.Skipped[models.SkipSelf] != 1 {
			t.Fatalf("moderator ban: %d eligible, skipped %v", p.Eligible, p.Skipped)
		}
		for _, a := range []models.BulkAction{models.BulkDelete, models.BulkRestore, models.BulkRevokeSessions, models.BulkSetLevel} {
			_, err := e.svc.PreviewBulk(e.ctx, as(mod), models.BulkRequest{Action: a, Filter: all, Level: ptr(1)})
			wantDenied(t, err)
			_, err = e.svc.StartBulk(e.ctx, as(mod), models.BulkRequest{Action: a, Filter: all, Level: ptr(1)})
			wantDenied(t, err)
		}
		plain := e.user("plain", 5, models.TypeActive)
		_, err = e.svc.PreviewBulk(e.ctx, as(plain), models.BulkRequest{Action: models.BulkBan, Filter: all})
		wantDenied(t, err)

		// An admin grants at most their level minus one, to accounts below theirs.
		_, err = e.svc.PreviewBulk(e.ctx, as(admin), models.BulkRequest{Action: models.BulkSetLevel, Filter: all, Level: ptr(8)})
		wantField(t, err, "level")
		_, err = e.svc.PreviewBulk(e.ctx, as(admin), models.BulkRequest{Action: models.BulkSetLevel, Filter: all})
		wantField(t, err, "level")
		_, err = e.svc.PreviewBulk(e.ctx, as(admin), models.BulkRequest{Action: "explode", Filter: all})
		wantField(t, err, "action")
		_, err = e.svc.PreviewBulk(e.ctx, as(admin), models.BulkRequest{Action: models.BulkBan, Filter: models.Filter{Type: "weird"}})
		wantField(t, err, "type")
		p, err = e.svc.PreviewBulk(e.ctx, as(admin), models.BulkRequest{Action: models.BulkSetLevel, Filter: all, Level: ptr(7)})
		e.check(err)
		if p.Eligible != 5 || p.Skipped[models.SkipSameLevel] != 1 || p.Skipped[models.SkipLevel] != 1 || p.Skipped[models.SkipSelf] != 1 {
			t.Fatalf("admin set level: %d eligible, skipped %v", p.Eligible, p.Skipped)
		}
		j, err := e.svc.StartBulk(e.ctx, as(admin), models.BulkRequest{Action: models.BulkSetLevel, Filter: models.Filter{Search: "mem"}, Level: ptr(2)})
		e.check(err)
		e.runAll()
		if got := e.reload(member); got.Level != 2 || e.job(j.ID).Done != 1 {
			t.Fatalf("set level: %d, job %+v", got.Level, e.job(j.ID))
		}
		if ev := e.bulkEvents(models.EvUpdate, j.ID)[member.ID]; ev.Detail != "level 5→2" {
			t.Fatalf("set level event: %+v", ev)
		}

		// A superadmin can't act on another superadmin either; the command
		// line can, but never on the last active ones.
		e.user("root2", 10, models.TypeActive)
		p, err = e.svc.PreviewBulk(e.ctx, as(root), models.BulkRequest{Action: models.BulkDelete, Filter: models.Filter{Role: "superadmin"}})
		e.check(err)
		if p.Eligible != 0 || p.Skipped[models.SkipLevel] != 1 || p.Skipped[models.SkipSelf] != 1 {
			t.Fatalf("superadmin on superadmins: %d eligible, skipped %v", p.Eligible, p.Skipped)
		}
		sys := models.BulkRequest{Action: models.BulkDelete, Filter: models.Filter{Level: ptr(10)}}
		p, err = e.svc.PreviewBulk(e.ctx, models.System, sys)
		e.check(err)
		if p.Eligible != 0 || p.Skipped[models.SkipLastSuperadmin] != 2 {
			t.Fatalf("system deleting every superadmin: %d eligible, skipped %v", p.Eligible, p.Skipped)
		}
		j, err = e.svc.StartBulk(e.ctx, models.System, sys)
		e.check(err)
		e.runAll()
		if has, _ := e.svc.HasSuperadmin(e.ctx); !has || e.job(j.ID).Done != 0 {
			t.Fatalf("superadmins left: %v, job done %d", has, e.job(j.ID).Done)
		}
		p, err = e.svc.PreviewBulk(e.ctx, models.System, models.BulkRequest{Action: models.BulkDelete, Filter: models.Filter{Search: "root2"}})
		e.check(err)
		if p.Eligible != 1 {
			t.Fatalf("system deleting one of two superadmins: %d eligible, skipped %v", p.Eligible, p.Skipped)
		}

		// The actor's rules as they are at each batch: demoted, the job stops.
		j, err = e.svc.StartBulk(e.ctx, as(admin), models.BulkRequest{Action: models.BulkDelete, Filter: models.Filter{Search: "banned"}})
		e.check(err)
		_, err = e.svc.Update(e.ctx, as(root), admin.ID, models.Patch{Level: ptr(6)})
		e.check(err)
		e.runAll()
		if j = e.job(j.ID); j.Status != models.JobFailed || j.Done != 0 || !strings.Contains(j.Error, "may no longer") {
			t.Fatalf("job of a demoted admin: %s %q", j.Status, j.Error)
		}
	})
}

func TestBulkCancel(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := bulkEnv(t, db, 2)
		admin := e.user("admin", 9, models.TypeActive)
		other := e.user("other", 9, models.TypeActive)
		for i := range 7 {
			e.user(fmt.Sprintf("member%d", i), 1, models.TypeActive)
		}
		req := models.BulkRequest{Action: models.BulkDelete, Filter: models.Filter{Level: ptr(1)}}
		j, err := e.svc.StartBulk(e.ctx, as(admin), req)
		e.check(err)
		more := e.stepBatch(e.svc, j.ID)
		if !more || e.job(j.ID).Done != 2 || e.job(j.ID).Status != models.JobRunning {
			t.Fatalf("after one batch: more %v, %+v", more, e.job(j.ID))
		}
		// Another admin's job is not theirs to see or stop below admin;
		// an admin may.
		if _, err := e.svc.CancelBulk(e.ctx, as(e.user("mod", 7, models.TypeActive)), j.ID); !models.IsNotFound(err) {
			t.Fatalf("moderator cancelling an admin's job: %v", err)
		}
		got, err := e.svc.CancelBulk(e.ctx, as(other), j.ID)
		e.check(err)
		if !got.CancelRequested || got.Finished() {
			t.Fatalf("cancel asked: %+v", got)
		}
		more, err = e.svc.StepBulk(e.ctx, j.ID)
		e.check(err)
		j = e.job(j.ID)
		if more || j.Status != models.JobCancelled || j.Done != 2 || j.FinishedAt == nil {
			t.Fatalf("after cancel: more %v, %s done %d", more, j.Status, j.Done)
		}
		n, err := db.NewSelect().Model((*models.User)(nil)).Where("type = ?", models.TypeDeleted).Count(e.ctx)
		e.check(err)
		if n != 2 || len(e.bulkEvents(models.EvDelete, j.ID)) != 2 {
			t.Fatalf("%d accounts deleted, want the 2 of the first batch", n)
		}
		e.runAll() // nothing more
		if e.job(j.ID).Done != 2 {
			t.Fatal("a cancelled job went on")
		}

		// A queued job stops at once.
		j, err = e.svc.StartBulk(e.ctx, as(admin), req)
		e.check(err)
		got, err = e.svc.CancelBulk(e.ctx, as(admin), j.ID)
		e.check(err)
		if got.Status != models.JobCancelled {
			t.Fatalf("queued job after cancel: %s", got.Status)
		}
	})
}

func TestBulkJobMovesBetweenInstances(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := bulkEnv(t, db, 2)
		second := models.NewService(db, models.Options{Argon2: modelstest.FastArgon2, Now: e.clock.Now, BulkBatch: 2})
		admin := e.user("admin", 9, models.TypeActive)
		for i := range 5 {
			e.user(fmt.Sprintf("member%d", i), 1, models.TypeActive)
		}
		j, err := e.svc.StartBulk(e.ctx, as(admin), models.BulkRequest{Action: models.BulkRevokeSessions, Filter: models.Filter{Level: ptr(1)}})
		e.check(err)
		more := e.stepBatch(e.svc, j.ID)
		// The other instance sees the progress, and leaves a held job alone...
		seen, err := second.BulkJob(e.ctx, admin, j.ID)
		e.check(err)
		if !more || seen.Done != 2 || seen.Status != models.JobRunning {
			t.Fatalf("seen from the other instance: %+v", seen)
		}
		if n, err := second.RunPendingBulk(e.ctx); err != nil || n != 0 || e.job(j.ID).Done != 2 {
			t.Fatalf("the other instance took a held job: %d %v", n, err)
		}
		// ...until its holder stops renewing the lease.
		e.clock.Advance(2 * time.Minute)
		if n, err := second.RunPendingBulk(e.ctx); err != nil || n != 1 {
			t.Fatalf("take over: %d %v", n, err)
		}
		if j = e.job(j.ID); j.Status != models.JobDone || j.Done != 5 || len(e.bulkEvents(models.EvSessionsRevoke, j.ID)) != 5 {
			t.Fatalf("after the take-over: %s %d", j.Status, j.Done)
		}
		// Both instances racing on one job never do a batch twice.
		j, err = e.svc.StartBulk(e.ctx, as(admin), models.BulkRequest{Action: models.BulkRevokeSessions, Filter: models.Filter{Level: ptr(1)}})
		e.check(err)
		var wg sync.WaitGroup
		for _, s := range []*models.Service{e.svc, second} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					more, err := s.StepBulk(e.ctx, j.ID)
					if err != nil {
						t.Error(err)
					}
					if !more {
						return
					}
				}
			}()
		}
		wg.Wait()
		e.runAll()
		if j = e.job(j.ID); j.Done != 5 || len(e.bulkEvents(models.EvSessionsRevoke, j.ID)) != 5 {
			t.Fatalf("racing instances: done %d, %d events", j.Done, len(e.bulkEvents(models.EvSessionsRevoke, j.ID)))
		}
	})
}

func TestBulkResendConfirmation(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := bulkEnv(t, db, 100)
		admin := e.user("admin", 9, models.TypeActive)
		req := models.BulkRequest{Action: models.BulkResendConfirmation}
		_, err := e.svc.PreviewBulk(e.ctx, as(admin), req)
		wantField(t, err, "action") // no mailer wired
		var mu sync.Mutex
		var sent []int64
		e.svc.OnBulkConfirmation(func(id int64, by models.Actor) {
			mu.Lock()
			sent = append(sent, id)
			mu.Unlock()
		})
		waiting := e.user("waiting", 1, models.TypeInactive)
		e.user("confirmed", 1, models.TypeActive) // made by an admin: address counts as confirmed? see below
		e.user("banned", 1, models.TypeBanned)
		noMail, err := e.svc.Create(e.ctx, models.System, models.NewUser{Username: "nomail", Password: password, Level: 1})
		e.check(err)
		_, err = e.svc.Update(e.ctx, models.System, noMail.ID, models.Patch{Type: ptr(models.TypeInactive)})
		e.check(err)
		p, err := e.svc.PreviewBulk(e.ctx, as(admin), req)
		e.check(err)
		j, err := e.svc.StartBulk(e.ctx, as(admin), req)
		e.check(err)
		e.runAll()
		if p.Skipped[models.SkipNoEmail] != 1 || p.Skipped[models.SkipBannedOrDeleted] != 1 || !slices.Contains(sent, waiting.ID) ||
			len(sent) != p.Eligible || e.job(j.ID).Done != p.Eligible {
			t.Fatalf("resend: preview %d %v, sent %v", p.Eligible, p.Skipped, sent)
		}
		if len(e.bulkEvents(models.EvMailResendConfirm, j.ID)) != p.Eligible {
			t.Fatal("resend: events missing")
		}
	})
}

// The dry run's SQL and Authorize are two statements of one rule: they
// must agree on every actor, target and state.
func TestBulkAgreesWithAuthorize(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := bulkEnv(t, db, 100)
		var actors, targets []*models.User
		for _, l := range []int{6, 8, 10} {
			actors = append(actors, e.user(fmt.Sprintf("actor%d", l), l, models.TypeActive))
		}
		for _, l := range []int{1, 6, 7, 8, 9, 10} {
			for typ := models.TypeActive; typ <= models.TypeDeleted; typ++ {
				targets = append(targets, e.user(fmt.Sprintf("target%d_%d", l, typ), l, typ))
			}
		}
		acts := map[models.BulkAction]models.Action{models.BulkBan: models.ActBan, models.BulkUnban: models.ActUnban,
			models.BulkDelete: models.ActDelete, models.BulkRestore: models.ActRestore, models.BulkRevokeSessions: models.ActRevokeSessions}
		for ba, act := range acts {
			for _, a := range actors {
				for _, u := range targets {
					p, err := e.svc.PreviewBulk(e.ctx, as(a), models.BulkRequest{Action: ba, Filter: models.Filter{Search: u.Username}})
					allowed := models.Authorize(a, act, u) == nil
					if err != nil {
						if allowed {
							t.Fatalf("%s by %s on %s: %v", ba, a.Username, u.Username, err)
						}
						continue
					}
					if (p.Eligible == 1) != allowed {
						t.Fatalf("%s by %s on %s: dry run %d eligible (%v), Authorize says %v", ba, a.Username, u.Username, p.Eligible, p.Skipped, allowed)
					}
				}
			}
		}
	})
}

// A job acts on the accounts that matched when it started, by the rules
// as they are at each batch: one banned meanwhile is left alone, one made
// meanwhile is not taken in.
func TestBulkJobTakesTheAccountsOfItsStart(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := bulkEnv(t, db, 2)
		admin := e.user("admin", 9, models.TypeActive)
		var members []*models.User
		for i := range 5 {
			members = append(members, e.user(fmt.Sprintf("member%d", i), 1, models.TypeActive))
		}
		_, _, err := e.svc.StartSession(e.ctx, models.Meta{IP: "192.0.2.9"}, members[0], models.SignIn{})
		e.check(err)
		j, err := e.svc.StartBulk(e.ctx, as(admin), models.BulkRequest{Action: models.BulkBan, Reason: "wave", Filter: models.Filter{Level: ptr(1)}})
		e.check(err)
		// Starting counts; the worker chooses the accounts, a few ids a step.
		if n, err := db.NewSelect().Table("bulk_job_items").Count(e.ctx); err != nil || n != 0 || j.ChosenID != 0 || j.Status != models.JobQueued {
			t.Fatalf("after the start: %d items (%v), chosen up to %d, %s", n, err, j.ChosenID, j.Status)
		}
		_, err = e.svc.Block(e.ctx, as(admin), members[3].ID, "by hand")
		e.check(err)
		late := e.user("member_late", 1, models.TypeActive)
		e.runAll()
		j = e.job(j.ID)
		if j.Total != 5 || j.Done != 4 || j.Status != models.JobDone {
			t.Fatalf("job: total %d done %d %s", j.Total, j.Done, j.Status)
		}
		if got := e.reload(members[3]); got.BanReason != "by hand" {
			t.Fatalf("the account banned meanwhile: %q", got.BanReason)
		}
		if e.reload(late).Type != models.TypeActive {
			t.Fatal("an account made after the start was banned")
		}
		n, err := db.NewSelect().Table("bulk_job_items").Count(e.ctx)
		e.check(err)
		if n != 0 {
			t.Fatalf("%d job items left behind", n)
		}
		if n, err = db.NewSelect().Model((*models.Session)(nil)).Where("user_id = ?", members[0].ID).Count(e.ctx); err != nil || n != 0 {
			t.Fatalf("the banned account still has %d sessions (%v)", n, err)
		}
	})
}
