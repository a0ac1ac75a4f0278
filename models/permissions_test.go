package models_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// Short names for the matrix.
const (
	active   = models.TypeActive
	banned   = models.TypeBanned
	inactive = models.TypeInactive
	deleted  = models.TypeDeleted
)

// TestPermissionMatrix is SPEC §3 as one table: who (level, type) may take
// which action on whom (level, type, or themselves). Each row is checked
// against Authorize and then carried out through the service on each
// database, where a denied row must change nothing.
func TestPermissionMatrix(t *testing.T) {
	type row struct {
		actorLevel, actorType   int
		targetLevel, targetType int // for create: the level granted
		self                    bool
		act                     models.Action
		allowed                 bool
	}
	rows := []row{
		// Members (1–5): nothing on others; only "sign out everywhere" on themselves.
		{5, active, 1, active, false, models.ActBan, false},
		{5, active, 1, banned, false, models.ActUnban, false},
		{5, active, 1, active, false, models.ActEdit, false},
		{5, active, 1, active, false, models.ActDelete, false},
		{5, active, 1, active, false, models.ActSetPassword, false},
		{5, active, 1, active, false, models.ActRevokeSessions, false},
		{5, active, 1, 0, false, models.ActCreate, false},
		{0, active, 0, active, true, models.ActRevokeSessions, true},
		{5, active, 5, active, true, models.ActRevokeSessions, true},
		{5, active, 5, active, true, models.ActEdit, false},
		{5, active, 5, active, true, models.ActDelete, false},
		{5, active, 5, active, true, models.ActSetPassword, false},

		// Moderators (6–7): ban and unban lower levels, nothing else.
		{6, active, 5, active, false, models.ActBan, true},
		{6, active, 1, inactive, false, models.ActBan, true},
		{6, active, 0, active, false, models.ActBan, true},
		{6, active, 5, banned, false, models.ActUnban, true},
		{6, active, 6, active, false, models.ActBan, false},   // equal
		{6, active, 7, active, false, models.ActBan, false},   // higher
		{6, active, 9, active, false, models.ActBan, false},   // higher
		{6, active, 6, banned, false, models.ActUnban, false}, // equal
		{6, active, 5, banned, false, models.ActBan, false},   // already banned
		{6, active, 5, deleted, false, models.ActBan, false},  // deleted
		{6, active, 5, active, false, models.ActUnban, false}, // not banned
		{6, active, 5, 0, false, models.ActCreate, false},
		{6, active, 5, active, false, models.ActEdit, false},
		{6, active, 5, active, false, models.ActDelete, false},
		{6, active, 5, deleted, false, models.ActRestore, false},
		{6, active, 5, deleted, false, models.ActPurge, false},
		{6, active, 5, active, false, models.ActSetPassword, false},
		{6, active, 5, active, false, models.ActSendReset, false},
		{6, active, 5, inactive, false, models.ActConfirm, false},
		{6, active, 5, active, false, models.ActRevokeSessions, false},
		{6, active, 6, active, true, models.ActBan, false},
		{6, active, 6, active, true, models.ActRevokeSessions, true},
		{7, active, 6, active, false, models.ActBan, true},
		{7, active, 6, banned, false, models.ActUnban, true},
		{7, active, 7, active, false, models.ActBan, false},
		{7, active, 8, banned, false, models.ActUnban, false},
		{7, active, 6, active, false, models.ActEdit, false},

		// Admins (8–9): everything but purge, on lower levels, granting below their own.
		{8, active, 7, 0, false, models.ActCreate, true},
		{8, active, 0, 0, false, models.ActCreate, true},
		{8, active, 8, 0, false, models.ActCreate, false},
		{8, active, 10, 0, false, models.ActCreate, false},
		{8, active, 7, active, false, models.ActEdit, true},
		{8, active, 1, banned, false, models.ActEdit, true},
		{8, active, 1, deleted, false, models.ActEdit, true},
		{8, active, 8, active, false, models.ActEdit, false},
		{8, active, 9, active, false, models.ActEdit, false},
		{8, active, 7, active, false, models.ActBan, true},
		{8, active, 7, banned, false, models.ActUnban, true},
		{8, active, 7, active, false, models.ActDelete, true},
		{8, active, 7, banned, false, models.ActDelete, true},
		{8, active, 7, deleted, false, models.ActDelete, false}, // already deleted
		{8, active, 8, active, false, models.ActDelete, false},
		{8, active, 7, deleted, false, models.ActRestore, true},
		{8, active, 7, active, false, models.ActRestore, false}, // not deleted
		{8, active, 7, deleted, false, models.ActPurge, false},
		{8, active, 7, active, false, models.ActSetPassword, true},
		{8, active, 8, active, false, models.ActSetPassword, false},
		{8, active, 7, active, false, models.ActSendReset, true},
		{8, active, 9, active, false, models.ActSendReset, false},
		{8, active, 7, inactive, false, models.ActConfirm, true},
		{8, active, 10, inactive, false, models.ActConfirm, false},
		{8, active, 7, active, false, models.ActRevokeSessions, true},
		{8, active, 9, active, false, models.ActRevokeSessions, false},
		{8, active, 8, active, true, models.ActEdit, true},
		{8, active, 8, active, true, models.ActRevokeSessions, true},
		{8, active, 8, active, true, models.ActBan, false},
		{8, active, 8, active, true, models.ActDelete, false},
		{8, active, 8, active, true, models.ActSetPassword, false},
		{8, active, 8, active, true, models.ActSendReset, false},
		{8, active, 8, active, true, models.ActConfirm, false},
		{9, active, 8, 0, false, models.ActCreate, true},
		{9, active, 9, 0, false, models.ActCreate, false},
		{9, active, 8, active, false, models.ActEdit, true},
		{9, active, 8, active, false, models.ActBan, true},
		{9, active, 8, active, false, models.ActDelete, true},
		{9, active, 8, deleted, false, models.ActRestore, true},
		{9, active, 8, deleted, false, models.ActPurge, false},
		{9, active, 1, deleted, false, models.ActPurge, false},
		{9, active, 9, active, false, models.ActEdit, false},
		{9, active, 10, active, false, models.ActEdit, false},
		{9, active, 10, active, false, models.ActBan, false},

		// Superadmins (10): everything, including purge, on anyone below.
		{10, active, 10, 0, false, models.ActCreate, true},
		{10, active, 9, active, false, models.ActEdit, true},
		{10, active, 9, active, false, models.ActBan, true},
		{10, active, 9, banned, false, models.ActUnban, true},
		{10, active, 9, active, false, models.ActDelete, true},
		{10, active, 9, deleted, false, models.ActRestore, true},
		{10, active, 9, deleted, false, models.ActPurge, true},
		{10, active, 1, deleted, false, models.ActPurge, true},
		{10, active, 1, active, false, models.ActPurge, false}, // delete first
		{10, active, 1, banned, false, models.ActPurge, false},
		{10, active, 9, active, false, models.ActSetPassword, true},
		{10, active, 9, active, false, models.ActSendReset, true},
		{10, active, 9, inactive, false, models.ActConfirm, true},
		{10, active, 9, active, false, models.ActRevokeSessions, true},
		{10, active, 10, active, false, models.ActEdit, false}, // another superadmin
		{10, active, 10, active, false, models.ActBan, false},
		{10, active, 10, active, false, models.ActDelete, false},
		{10, active, 10, deleted, false, models.ActPurge, false},
		{10, active, 10, active, false, models.ActRevokeSessions, false},
		{10, active, 10, active, true, models.ActEdit, true},
		{10, active, 10, active, true, models.ActRevokeSessions, true},
		{10, active, 10, active, true, models.ActDelete, false},
		{10, active, 10, active, true, models.ActBan, false},
		{10, active, 10, active, true, models.ActPurge, false},

		// Accounts that aren't active can't act, whatever their level.
		{10, banned, 1, active, false, models.ActEdit, false},
		{10, banned, 1, deleted, false, models.ActPurge, false},
		{10, inactive, 1, 0, false, models.ActCreate, false},
		{10, deleted, 1, active, false, models.ActBan, false},
		{9, inactive, 1, active, false, models.ActDelete, false},
		{8, banned, 1, active, false, models.ActSetPassword, false},
		{8, deleted, 1, 0, false, models.ActCreate, false},
		{6, banned, 1, active, false, models.ActBan, false},
		{7, inactive, 1, banned, false, models.ActUnban, false},
		{5, banned, 5, banned, true, models.ActRevokeSessions, false},
		{8, inactive, 8, inactive, true, models.ActEdit, false},
	}

	// Every action is in the matrix, allowed somewhere and denied somewhere.
	seen := map[models.Action][2]bool{}
	for _, r := range rows {
		s := seen[r.act]
		if r.allowed {
			s[0] = true
		} else {
			s[1] = true
		}
		seen[r.act] = s
	}
	for _, act := range []models.Action{
		models.ActCreate, models.ActEdit, models.ActBan, models.ActUnban, models.ActDelete, models.ActRestore,
		models.ActPurge, models.ActSetPassword, models.ActSendReset, models.ActConfirm, models.ActRevokeSessions,
	} {
		if seen[act] != [2]bool{true, true} {
			t.Errorf("action %s: allowed and denied rows %v", act, seen[act])
		}
	}

	name := func(i int, r row) string {
		who := fmt.Sprintf("level %d %s", r.actorLevel, models.TypeLabel(r.actorType))
		if r.self {
			return fmt.Sprintf("%d %s: %s self", i, who, r.act)
		}
		return fmt.Sprintf("%d %s: %s level %d %s", i, who, r.act, r.targetLevel, models.TypeLabel(r.targetType))
	}

	// The rule itself.
	for i, r := range rows {
		actor := &models.User{ID: 1, Level: r.actorLevel, Type: r.actorType}
		target := &models.User{ID: 2, Level: r.targetLevel, Type: r.targetType}
		if r.self {
			target = actor
		}
		var err error
		if r.act == models.ActCreate {
			err = models.Authorize(actor, r.act, nil)
			if err == nil && !models.CanGrant(actor, r.targetLevel) {
				err = errors.New("can't grant")
			}
		} else {
			err = models.Authorize(actor, r.act, target)
			if models.Can(actor, r.act, target) != (err == nil && models.StateConflict(r.act, target) == "") {
				t.Errorf("%s: Can disagrees with Authorize and StateConflict", name(i, r))
			}
		}
		if (err == nil) != r.allowed {
			t.Errorf("%s: allowed %v, want %v (%v)", name(i, r), err == nil, r.allowed, err)
		}
		// The command line may do anything Authorize checks.
		if err := models.Authorize(nil, r.act, target); err != nil {
			t.Errorf("%s: the system is denied: %v", name(i, r), err)
		}
	}
	if err := models.Authorize(&models.User{ID: 1, Level: 10, Type: active}, "fly", &models.User{ID: 2}); err == nil {
		t.Error("an unknown action is allowed")
	}

	// The same rule, enforced by the service.
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		// Another active superadmin, so that the last-superadmin rule stays
		// out of the way of rows that make superadmins banned or inactive.
		e.user("keeper", 10, active)
		if _, err := e.svc.Stats(e.ctx); err != nil { // the census follows the rows from here
			t.Fatal(err)
		}
		defer e.checkCensus()
		for i, r := range rows {
			actor := e.user(fmt.Sprintf("actor%d", i), r.actorLevel, r.actorType)
			target := actor
			if !r.self && r.act != models.ActCreate {
				target = e.user(fmt.Sprintf("target%d", i), r.targetLevel, r.targetType)
			}
			before := e.reload(target)
			by := as(actor)
			var err error
			switch r.act {
			case models.ActCreate:
				_, err = e.svc.Create(e.ctx, by, models.NewUser{Username: fmt.Sprintf("created%d", i), Password: password, Level: r.targetLevel})
			case models.ActEdit:
				_, err = e.svc.Update(e.ctx, by, target.ID, models.Patch{Name: ptr("Edited"), Points: ptr(int64(7))})
			case models.ActBan:
				_, err = e.svc.Block(e.ctx, by, target.ID, "matrix")
			case models.ActUnban:
				_, err = e.svc.Unblock(e.ctx, by, target.ID)
			case models.ActDelete:
				_, err = e.svc.Delete(e.ctx, by, target.ID)
			case models.ActRestore:
				_, err = e.svc.Restore(e.ctx, by, target.ID)
			case models.ActPurge:
				err = e.svc.Purge(e.ctx, by, target.ID)
			case models.ActSetPassword:
				_, err = e.svc.SetPassword(e.ctx, by, target.ID, "a new password")
			case models.ActSendReset:
				err = models.Authorize(actor, r.act, target) // sending mail is not the service's
			case models.ActConfirm:
				_, err = e.svc.ConfirmEmail(e.ctx, by, target.ID)
			case models.ActRevokeSessions:
				_, err = e.svc.RevokeSessions(e.ctx, by, target.ID)
			default:
				t.Fatalf("no service call for %s", r.act)
			}
			if r.allowed {
				if err != nil {
					t.Errorf("%s: %v", name(i, r), err)
				}
				continue
			}
			var de *models.DeniedError
			var ve *models.ValidationError
			switch {
			case errors.As(err, &de):
			case r.act == models.ActCreate && errors.As(err, &ve) && ve.Fields["level"] != "":
			default:
				t.Errorf("%s: want denied, got %v", name(i, r), err)
				continue
			}
			if r.act == models.ActCreate {
				if _, err := e.svc.GetByUsername(e.ctx, fmt.Sprintf("created%d", i)); !errors.Is(err, models.ErrNotFound) {
					t.Errorf("%s: created anyway", name(i, r))
				}
				continue
			}
			if after := e.reload(target); after.Type != before.Type || after.Name != before.Name ||
				after.SessionVersion != before.SessionVersion || after.PasswordHash != before.PasswordHash || !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Errorf("%s: denied, but the account changed: %+v", name(i, r), after)
			}
		}
	})
}

func TestCanGrantAndSeeEmail(t *testing.T) {
	for _, c := range []struct {
		level, typ int
		nilActor   bool
		grant      int
		ok         bool
	}{
		{nilActor: true, grant: 10, ok: true},
		{nilActor: true, grant: 0, ok: true},
		{nilActor: true, grant: 11, ok: false},
		{nilActor: true, grant: -1, ok: false},
		{level: 10, typ: active, grant: 10, ok: true},
		{level: 10, typ: active, grant: 0, ok: true},
		{level: 10, typ: active, grant: 11, ok: false},
		{level: 9, typ: active, grant: 8, ok: true},
		{level: 9, typ: active, grant: 9, ok: false},
		{level: 9, typ: active, grant: 10, ok: false},
		{level: 8, typ: active, grant: 7, ok: true},
		{level: 8, typ: active, grant: 0, ok: true},
		{level: 8, typ: active, grant: 8, ok: false},
		{level: 8, typ: active, grant: -1, ok: false},
		{level: 7, typ: active, grant: 1, ok: false}, // moderators don't grant
		{level: 5, typ: active, grant: 1, ok: false},
		{level: 10, typ: banned, grant: 1, ok: false},
		{level: 9, typ: inactive, grant: 1, ok: false},
	} {
		var actor *models.User
		if !c.nilActor {
			actor = &models.User{ID: 1, Level: c.level, Type: c.typ}
		}
		if got := models.CanGrant(actor, c.grant); got != c.ok {
			t.Errorf("CanGrant(%+v, %d) = %v", actor, c.grant, got)
		}
	}
	if got := models.GrantableLevels(&models.User{ID: 1, Level: 8, Type: active}); fmt.Sprint(got) != "[0 1 2 3 4 5 6 7]" {
		t.Errorf("GrantableLevels(8) = %v", got)
	}
	if got := models.GrantableLevels(&models.User{ID: 1, Level: 6, Type: active}); len(got) != 0 {
		t.Errorf("GrantableLevels(6) = %v", got)
	}

	target := &models.User{ID: 2, Level: 1, Type: active}
	for _, c := range []struct {
		viewer *models.User
		target *models.User
		ok     bool
	}{
		{nil, target, false},
		{&models.User{ID: 2, Level: 1, Type: active}, target, true}, // oneself
		{&models.User{ID: 3, Level: 1, Type: active}, target, false},
		{&models.User{ID: 3, Level: 6, Type: active}, target, false},
		{&models.User{ID: 3, Level: 7, Type: active}, target, false},
		{&models.User{ID: 3, Level: 8, Type: active}, target, true},
		{&models.User{ID: 3, Level: 10, Type: active}, target, true},
		{&models.User{ID: 3, Level: 10, Type: banned}, target, false},
		{&models.User{ID: 3, Level: 8, Type: active}, nil, false},
	} {
		if got := models.CanSeeEmail(c.viewer, c.target); got != c.ok {
			t.Errorf("CanSeeEmail(%+v, %+v) = %v", c.viewer, c.target, got)
		}
	}
}

// TestStateConflict: what makes no sense in an account's state is refused
// by the service for people (a *ConflictError on the field "state", the
// account unchanged) and not offered (Can); the system is refused nothing
// here (the command line may set a banned account's password).
func TestStateConflict(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		admin := e.user("admin", 9, active)
		targets := map[string]*models.User{
			"deleted": e.user("deleted_one", 1, deleted), "banned": e.user("banned_one", 1, banned),
			"inactive": e.user("inactive_one", 1, inactive), "active": e.user("active_one", 1, active),
		}
		do := map[models.Action]func(by models.Actor, id int64) error{
			models.ActSetPassword: func(by models.Actor, id int64) error {
				_, err := e.svc.SetPassword(e.ctx, by, id, "a new password")
				return err
			},
			models.ActConfirm: func(by models.Actor, id int64) error {
				_, err := e.svc.ConfirmEmail(e.ctx, by, id)
				return err
			},
			models.ActRevokeSessions: func(by models.Actor, id int64) error {
				_, err := e.svc.RevokeSessions(e.ctx, by, id)
				return err
			},
			models.ActResetMFA: func(by models.Actor, id int64) error {
				_, _, err := e.svc.ResetMFA(e.ctx, by, id)
				return err
			},
		}
		// refused[state] lists the actions that make no sense there (the
		// active account's address is not confirmed yet).
		refused := map[string][]models.Action{
			"deleted": {models.ActSetPassword, models.ActConfirm, models.ActRevokeSessions, models.ActResetMFA},
			"banned":  {models.ActSetPassword, models.ActConfirm, models.ActRevokeSessions, models.ActResetMFA},
		}
		for state, u := range targets {
			for act, run := range do {
				want := !contains(refused[state], act)
				if got := models.Can(admin, act, e.reload(u)); got != want {
					t.Errorf("%s on %s: Can %v, want %v", act, state, got, want)
				}
				before := e.reload(u)
				err := run(as(admin), u.ID)
				if want {
					if err != nil {
						t.Errorf("%s on %s: %v", act, state, err)
					}
					continue
				}
				var ce *models.ConflictError
				if !errors.As(err, &ce) || ce.Field != "state" || ce.Message != models.StateConflict(act, before) {
					t.Errorf("%s on %s: want the state conflict, got %v", act, state, err)
				}
				if after := e.reload(u); after.PasswordHash != before.PasswordHash || after.SessionVersion != before.SessionVersion ||
					!after.UpdatedAt.Equal(before.UpdatedAt) {
					t.Errorf("%s on %s: refused but changed", act, state)
				}
			}
		}
		// Confirmed now (the active and inactive ones above): nothing more
		// to confirm on the active one; the inactive one was made Active.
		if got := models.StateConflict(models.ActConfirm, e.reload(targets["active"])); got != "active_one's e-mail address is already confirmed." {
			t.Errorf("confirm a confirmed address: %q", got)
		}
		if _, err := e.svc.SetPassword(e.ctx, models.System, targets["banned"].ID, "set by the operator"); err != nil {
			t.Errorf("the command line sets a banned account's password: %v", err)
		}
	})
}

func contains(list []models.Action, a models.Action) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}
