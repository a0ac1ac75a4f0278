package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/migrations"
)

// Get returns the account with id, or ErrNotFound.
func (s *Service) Get(ctx context.Context, id int64) (*User, error) {
	return s.cached(ctx, func(now time.Time) *User { return s.accounts.byAccountID(id, now) },
		"u.id = ?", id)
}

// GetByUsername returns the account named username, in any case, or ErrNotFound.
func (s *Service) GetByUsername(ctx context.Context, username string) (*User, error) {
	username = strings.TrimSpace(username)
	return s.cached(ctx, func(now time.Time) *User { return s.accounts.byUsername(username, now) },
		"lower(u.username) = lower(?)", username)
}

// cached answers a read from the account cache when it can, and otherwise
// reads the account and keeps it (unless a write happened meanwhile).
func (s *Service) cached(ctx context.Context, lookup func(time.Time) *User, where string, arg any) (*User, error) {
	if !s.accounts.enabled() {
		return s.getBy(ctx, s.db, where, arg)
	}
	s.poll(ctx)
	now := s.opts.Now()
	if u := lookup(now); u != nil {
		return u, nil
	}
	gen := s.accounts.generation()
	u, err := s.getBy(ctx, s.db, where, arg)
	if err == nil {
		u.Snapshot = snapshots.Add(1)
		s.accounts.store(u, gen, now)
	}
	return u, err
}

// GetByEmail returns the account with this e-mail address, in any case, or ErrNotFound.
func (s *Service) GetByEmail(ctx context.Context, email string) (*User, error) {
	return s.getBy(ctx, s.db, byEmail, strings.TrimSpace(email))
}

// byEmail finds an account by address. The IS NOT NULL lets SQLite use
// the partial unique index (it can't infer it from lower(email) = ?).
const byEmail = "u.email IS NOT NULL AND lower(u.email) = lower(?)"

func (s *Service) getBy(ctx context.Context, db bun.IDB, where string, arg any) (*User, error) {
	if str, ok := arg.(string); ok && !textOK(str) {
		return nil, ErrNotFound // no account has such a name
	}
	u := new(User)
	err := db.NewSelect().Model(u).Where(where, arg).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}

// NewUser is the input of Create and Register.
type NewUser struct {
	Username string
	Email    string
	Name     string
	Password string
	Level    int
	Type     int // 0 means Active
	Avatar   string
	Group    string
	Var      map[string]any
}

func (n *NewUser) normalize() {
	n.Username = normalize(n.Username)
	n.Email = normalize(n.Email)
	n.Name = normalize(n.Name)
	n.Avatar = normalize(n.Avatar)
	n.Group = normalize(n.Group)
	if n.Type == 0 {
		n.Type = TypeActive
	}
}

// checkNew is check, plus whether the username and e-mail address are
// taken, all in one answer.
func (s *Service) checkNew(ctx context.Context, n NewUser, emailRequired bool) error {
	c := n.checker(emailRequired)
	if err := s.checkTaken(ctx, c, n.Username, n.Email, 0); err != nil {
		return err
	}
	return c.err()
}

func (n *NewUser) checker(emailRequired bool) checker {
	c := checker{}
	c.check("username", n.Username)
	if reservedUsername(n.Username) {
		c.add("username", msgUsernameReserved)
	}
	if emailRequired && n.Email == "" {
		c.add("email", "This field is required.")
	}
	c.check("email", n.Email)
	c.check("name", n.Name)
	c.check("password", n.Password)
	c.check("avatar", n.Avatar)
	c.check("group", n.Group)
	c.check("level", n.Level)
	c.check("type", n.Type)
	checkVar(c, n.Var, false)
	return c
}

// Create makes an account for an admin, the API or the command line. The
// actor must be an admin and may grant at most their own level minus one
// (a superadmin any level).
func (s *Service) Create(ctx context.Context, by Actor, n NewUser) (*User, error) {
	n.normalize()
	if err := Authorize(by.User, ActCreate, nil); err != nil {
		return nil, err
	}
	if err := s.checkNew(ctx, n, false); err != nil {
		return nil, err
	}
	if !CanGrant(by.User, n.Level) {
		return nil, fieldError("level", fmt.Sprintf("You can grant at most level %d.", by.User.Level-1))
	}
	if n.Type == TypeDeleted {
		return nil, fieldError("type", "A new account can't be deleted.")
	}
	u, err := s.insert(ctx, n, false)
	if err != nil {
		return nil, err
	}
	_ = s.record(ctx, s.db, by, EvCreate, &u.ID, fmt.Sprintf("username=%s level=%d", u.Username, u.Level))
	return u, nil
}

// Register is self-registration: e-mail required, the configured default
// level, and type Inactive when the address must be confirmed first.
func (s *Service) Register(ctx context.Context, m Meta, n NewUser, needConfirm bool) (*User, error) {
	n.Level = s.opts.DefaultLevel
	n.Type = TypeActive
	if needConfirm {
		n.Type = TypeInactive
	}
	n.Var = nil
	n.Group = ""
	n.normalize()
	// Refused registrations are counted per address: each one may tell
	// whether a name or an address is taken.
	if err := s.checkSignup(ctx, m.IP); err != nil {
		return nil, err
	}
	err := s.checkNew(ctx, n, true)
	var u *User
	if err == nil {
		u, err = s.insert(ctx, n, false)
	}
	var ve *ValidationError
	var ce *ConflictError
	if errors.As(err, &ve) || errors.As(err, &ce) {
		s.countSignupFailure(ctx, m.IP)
	}
	if err != nil {
		return nil, err
	}
	_ = s.record(ctx, s.db, Actor{User: u, Meta: m}, EvSignup, &u.ID, "")
	return u, nil
}

func (s *Service) insert(ctx context.Context, n NewUser, verified bool) (*User, error) {
	hash, err := s.hasher.Hash(ctx, n.Password)
	if err != nil {
		return nil, err
	}
	now := s.now()
	u := &User{
		Username:       n.Username,
		Name:           n.Name,
		PasswordHash:   hash,
		Level:          n.Level,
		Type:           n.Type,
		Avatar:         n.Avatar,
		Group:          n.Group,
		Var:            n.Var,
		SessionVersion: 1,
		CreatedAt:      now,
		UpdatedAt:      now,
	}
	if u.Var == nil {
		u.Var = map[string]any{}
	}
	if n.Email != "" {
		u.Email = ptr(n.Email)
	}
	if verified {
		u.EmailVerifiedAt = &now
	}
	if _, err := s.db.NewInsert().Model(u).Returning("id").Exec(ctx); err != nil {
		return nil, s.takenOrAlike(ctx, conflictOr(err), &n.Username, &n.Email)
	}
	s.accountMoved(nil, cellOf(u))
	return u, nil
}

// conflictOr turns a unique-index violation into a ConflictError naming the field.
func conflictOr(err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "23505") && !strings.Contains(msg, "UNIQUE constraint failed") {
		return err
	}
	// Both databases name the index in the message.
	switch {
	case strings.Contains(msg, "users_username_lower_key"):
		return &ConflictError{Field: "username", Message: msgUsernameTaken}
	case strings.Contains(msg, "users_email_lower_key"):
		return &ConflictError{Field: "email", Message: msgEmailTaken}
	case strings.Contains(msg, "username_skeleton"):
		return &ConflictError{Field: "username", Message: "This username looks too much like an existing one. Choose another.", lookAlike: true}
	case strings.Contains(msg, "email_skeleton"):
		return &ConflictError{Field: "email", Message: "This e-mail address looks too much like one already registered.", lookAlike: true}
	}
	return &ConflictError{Message: "This already exists."}
}

// takenOrAlike says "taken" for a look-alike conflict whose value is in
// fact taken as typed (any case): SQLite names only the first unique
// index a row breaks, which may be the skeleton's.
func (s *Service) takenOrAlike(ctx context.Context, err error, username, email *string) error {
	var ce *ConflictError
	if !errors.As(err, &ce) || !ce.lookAlike {
		return err
	}
	switch {
	case ce.Field == "username" && username != nil:
		if _, gerr := s.getBy(ctx, s.db, "lower(u.username) = lower(?)", *username); gerr == nil {
			return &ConflictError{Field: "username", Message: "This username is already taken."}
		}
	case ce.Field == "email" && email != nil && *email != "":
		if _, gerr := s.GetByEmail(ctx, *email); gerr == nil {
			return &ConflictError{Field: "email", Message: "An account with this e-mail address already exists."}
		}
	}
	return err
}

// Patch lists the fields Update changes; nil means "leave as is".
// Email "" removes the address; a Var key set to nil is removed.
type Patch struct {
	Username *string
	Email    *string
	Name     *string
	Password *string
	Level    *int
	Type     *int
	Points   *int64
	Avatar   *string
	Group    *string
	Var      map[string]any
}

// Update changes the fields present in p. Admins edit accounts below their
// level; a type change goes through the ban/unban/delete/restore rules.
func (s *Service) Update(ctx context.Context, by Actor, id int64, p Patch) (*User, error) {
	if by.viaKeyOnSelf(id) && (p.Password != nil || p.Email != nil || p.Level != nil) {
		return nil, consoleOnly
	}
	c := checker{}
	for _, f := range []struct {
		name string
		v    **string
	}{{"username", &p.Username}, {"email", &p.Email}, {"name", &p.Name}, {"avatar", &p.Avatar}, {"group", &p.Group}} {
		if *f.v != nil {
			*f.v = ptr(normalize(**f.v))
			c.check(f.name, **f.v)
		}
	}
	if p.Password != nil {
		c.check("password", *p.Password)
	}
	if p.Level != nil {
		c.check("level", *p.Level)
	}
	if p.Type != nil {
		c.check("type", *p.Type)
	}
	checkVar(c, p.Var, true)
	if err := c.err(); err != nil {
		return nil, err
	}
	var hash string
	if p.Password != nil {
		var err error
		if hash, err = s.hasher.Hash(ctx, *p.Password); err != nil {
			return nil, err
		}
	}

	var out, before *User
	var changed []string
	var typeEvent string
	err := s.runInTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u, err := s.lockUser(ctx, tx, id)
		if err != nil {
			return err
		}
		before = u
		if err := Authorize(by.User, ActEdit, u); err != nil {
			return err
		}
		// One's own address changes only once the new one is confirmed,
		// wherever it is asked for (the console, the API).
		if by.User != nil && by.User.ID == u.ID && p.Email != nil && *p.Email != u.EmailAddress() {
			return denied("your own e-mail address changes in your settings, once the new address is confirmed")
		}
		q := tx.NewUpdate().Model((*User)(nil)).Where("id = ?", id)
		endSessions := false
		if p.Username != nil && *p.Username != u.Username {
			if reservedUsername(*p.Username) {
				return fieldError("username", msgUsernameReserved)
			}
			q.Set("username = ?", *p.Username).Set("username_skeleton = ?", migrations.Skeleton(*p.Username))
			changed = append(changed, "username")
		}
		if p.Email != nil && *p.Email != u.EmailAddress() {
			if *p.Email == "" {
				q.Set("email = NULL").Set("email_skeleton = NULL")
			} else {
				q.Set("email = ?", *p.Email).Set("email_skeleton = ?", *skeletonOf(p.Email))
			}
			q.Set("email_verified_at = NULL")
			changed = append(changed, "email")
		}
		if p.Name != nil && *p.Name != u.Name {
			q.Set("name = ?", *p.Name)
			changed = append(changed, "name")
		}
		if p.Avatar != nil && *p.Avatar != u.Avatar {
			q.Set("avatar = ?", *p.Avatar)
			changed = append(changed, "avatar")
		}
		if p.Group != nil && *p.Group != u.Group {
			q.Set("group_name = ?", *p.Group)
			changed = append(changed, "group")
		}
		if p.Points != nil && *p.Points != u.Points {
			q.Set("points = ?", *p.Points)
			changed = append(changed, "points")
		}
		if p.Password != nil {
			q.Set("password_hash = ?", hash)
			endSessions = true
			changed = append(changed, "password")
		}
		if p.Level != nil && *p.Level != u.Level {
			if !CanGrant(by.User, *p.Level) {
				return fieldError("level", fmt.Sprintf("You can grant at most level %d.", by.User.Level-1))
			}
			if err := s.guardLastSuperadmin(ctx, tx, u, *p.Level, u.Type); err != nil {
				return err
			}
			q.Set("level = ?", *p.Level)
			changed = append(changed, fmt.Sprintf("level %d→%d", u.Level, *p.Level))
		}
		if p.Type != nil && *p.Type != u.Type {
			act := typeAction(u.Type, *p.Type)
			if err := Authorize(by.User, act, u); err != nil {
				return err
			}
			if err := s.guardLastSuperadmin(ctx, tx, u, u.Level, *p.Type); err != nil {
				return err
			}
			q.Set("type = ?", *p.Type)
			if *p.Type == TypeBanned || *p.Type == TypeDeleted {
				endSessions = true
			}
			if u.Type == TypeBanned {
				q.Set("ban_reason = ''")
			}
			if *p.Type == TypeActive && u.Type == TypeInactive && u.EmailVerifiedAt == nil {
				q.Set("email_verified_at = ?", s.now())
			}
			// A ban, delete, restore... made here is logged as such, so
			// that the audit log's action filter finds it.
			typeEvent = typeEventFor(act, *p.Type)
			if typeEvent == EvUpdate {
				changed = append(changed, "type "+TypeLabel(u.Type)+"→"+TypeLabel(*p.Type))
			}
		}
		if len(p.Var) > 0 {
			merged := mergeVar(u.Var, p.Var)
			if len(merged) > MaxVarKeys {
				return fieldError("var", fmt.Sprintf("At most %d keys.", MaxVarKeys))
			}
			q.Set("var = ?", merged)
			changed = append(changed, "var")
		}
		if len(changed) == 0 && typeEvent == "" {
			out = u
			return nil
		}
		if endSessions {
			q.Set("session_version = session_version + 1")
		}
		q.Set("updated_at = ?", s.now())
		if _, err := q.Exec(ctx); err != nil {
			return conflictOr(err)
		}
		if endSessions {
			if err := s.deleteSessions(ctx, tx, id); err != nil {
				return err
			}
		}
		if out, err = s.getBy(ctx, tx, "u.id = ?", id); err != nil {
			return err
		}
		if typeEvent != "" && typeEvent != EvUpdate {
			detail := ""
			if typeEvent == EvBan {
				detail = out.BanReason
			}
			if err := s.record(ctx, tx, by, typeEvent, &id, detail); err != nil {
				return err
			}
		}
		if len(changed) == 0 {
			return nil
		}
		return s.record(ctx, tx, by, EvUpdate, &id, strings.Join(changed, ", "))
	})
	if err != nil {
		return nil, s.takenOrAlike(ctx, err, p.Username, p.Email)
	}
	if len(changed) > 0 || typeEvent != "" {
		s.accountMoved(cellOf(before), cellOf(out))
	}
	return out, nil
}

// typeEventFor is the event of a type change made through Update.
func typeEventFor(act Action, to int) string {
	switch act {
	case ActBan:
		return EvBan
	case ActUnban:
		return EvUnban
	case ActDelete:
		return EvDelete
	case ActRestore:
		return EvRestore
	}
	if to == TypeActive {
		return EvConfirm
	}
	return EvUpdate
}

func typeAction(from, to int) Action {
	switch to {
	case TypeBanned:
		return ActBan
	case TypeDeleted:
		return ActDelete
	}
	switch from {
	case TypeBanned:
		return ActUnban
	case TypeDeleted:
		return ActRestore
	}
	return ActConfirm
}

func mergeVar(cur, patch map[string]any) map[string]any {
	out := make(map[string]any, len(cur)+len(patch))
	for k, v := range cur {
		out[k] = v
	}
	for k, v := range patch {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// lockUser reads the account inside tx, locking its row on PostgreSQL
// (SQLite's write transactions are already exclusive).
func (s *Service) lockUser(ctx context.Context, tx bun.IDB, id int64) (*User, error) {
	u := new(User)
	q := tx.NewSelect().Model(u).Where("u.id = ?", id)
	if IsPostgres(tx) {
		q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return u, nil
}

// guardLastSuperadmin refuses a change that would leave no active superadmin.
func (s *Service) guardLastSuperadmin(ctx context.Context, tx bun.IDB, u *User, newLevel, newType int) error {
	if !(u.Level == LevelSuperadmin && u.Type == TypeActive) {
		return nil
	}
	if newLevel == LevelSuperadmin && newType == TypeActive {
		return nil
	}
	q := tx.NewSelect().Model((*User)(nil)).Column("id").
		Where("level = ? AND type = ?", LevelSuperadmin, TypeActive)
	if IsPostgres(tx) {
		q.For("UPDATE")
	}
	var ids []int64
	if err := q.Scan(ctx, &ids); err != nil {
		return err
	}
	if len(ids) <= 1 {
		return denied("this is the last active superadmin; make another superadmin first")
	}
	return nil
}

// transition is one state change by an admin action.
type transition struct {
	act         Action
	event       string
	set         func(q *bun.UpdateQuery, u *User)
	endSessions bool
	also        func(ctx context.Context, tx bun.IDB) error // more statements in the same transaction
	describe    func() string                               // the event's detail, when it depends on what also did
}

// apply runs an action on one account in a transaction of its own (see
// applyIn), then moves the census.
func (s *Service) apply(ctx context.Context, by Actor, id int64, t transition, detail string) (*User, error) {
	var out, before *User
	err := inTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		var err error
		before, out, err = s.applyIn(ctx, tx, by, id, t, detail)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.accountMoved(cellOf(before), cellOf(out))
	return out, nil
}

// applyIn runs an action on one account inside tx: authorization, the
// last-superadmin rule, the update, ending sessions and the event. It
// returns the account before and after.
func (s *Service) applyIn(ctx context.Context, tx bun.IDB, by Actor, id int64, t transition, detail string) (before, out *User, err error) {
	u, err := s.lockUser(ctx, tx, id)
	if err != nil {
		return nil, nil, err
	}
	if err := Authorize(by.User, t.act, u); err != nil {
		return nil, nil, err
	}
	if err := stateConflict(by, t.act, u); err != nil {
		return nil, nil, err
	}
	q := tx.NewUpdate().Model((*User)(nil)).Where("id = ?", id).Set("updated_at = ?", s.now())
	t.set(q, u)
	if t.endSessions {
		q.Set("session_version = session_version + 1")
	}
	after := *u
	if t.act == ActBan {
		after.Type = TypeBanned
	} else if t.act == ActDelete {
		after.Type = TypeDeleted
	}
	if err := s.guardLastSuperadmin(ctx, tx, u, after.Level, after.Type); err != nil {
		return nil, nil, err
	}
	if _, err := q.Exec(ctx); err != nil {
		return nil, nil, err
	}
	if t.endSessions {
		if err := s.deleteSessions(ctx, tx, id); err != nil {
			return nil, nil, err
		}
	}
	if t.also != nil {
		if err := t.also(ctx, tx); err != nil {
			return nil, nil, err
		}
	}
	if out, err = s.getBy(ctx, tx, "u.id = ?", id); err != nil {
		return nil, nil, err
	}
	if t.describe != nil {
		detail = t.describe()
	}
	return u, out, s.record(ctx, tx, by, t.event, &id, detail)
}

// Block bans an account: it can't sign in, its sessions end, and the
// reason is shown to it at sign-in.
func (s *Service) Block(ctx context.Context, by Actor, id int64, reason string) (*User, error) {
	reason = clip(normalize(reason), 500)
	return s.apply(ctx, by, id, transition{act: ActBan, event: EvBan, endSessions: true,
		set: func(q *bun.UpdateQuery, _ *User) { q.Set("type = ?", TypeBanned).Set("ban_reason = ?", reason) },
	}, reason)
}

// Unblock lifts a ban.
func (s *Service) Unblock(ctx context.Context, by Actor, id int64) (*User, error) {
	return s.apply(ctx, by, id, transition{act: ActUnban, event: EvUnban,
		set: func(q *bun.UpdateQuery, _ *User) { q.Set("type = ?", TypeActive).Set("ban_reason = ''") },
	}, "")
}

// Delete soft-deletes an account (type Deleted): it can't sign in, its
// sessions end, its content stays.
func (s *Service) Delete(ctx context.Context, by Actor, id int64) (*User, error) {
	return s.apply(ctx, by, id, transition{act: ActDelete, event: EvDelete, endSessions: true,
		set: func(q *bun.UpdateQuery, _ *User) { q.Set("type = ?", TypeDeleted) },
	}, "")
}

// Restore brings a soft-deleted account back as Active.
func (s *Service) Restore(ctx context.Context, by Actor, id int64) (*User, error) {
	return s.apply(ctx, by, id, transition{act: ActRestore, event: EvRestore,
		set: func(q *bun.UpdateQuery, _ *User) { q.Set("type = ?", TypeActive) },
	}, "")
}

// ConfirmEmail marks the account's e-mail address as confirmed and, when it
// was waiting for that, makes it Active.
func (s *Service) ConfirmEmail(ctx context.Context, by Actor, id int64) (*User, error) {
	now := s.now()
	return s.apply(ctx, by, id, transition{act: ActConfirm, event: EvConfirm,
		set: func(q *bun.UpdateQuery, u *User) {
			if u.EmailVerifiedAt == nil {
				q.Set("email_verified_at = ?", now)
			}
			if u.Type == TypeInactive {
				q.Set("type = ?", TypeActive)
			}
		},
	}, "")
}

// SetPassword sets another account's password (admin); its sessions end.
func (s *Service) SetPassword(ctx context.Context, by Actor, id int64, password string) (*User, error) {
	if by.viaKeyOnSelf(id) {
		return nil, consoleOnly
	}
	c := checker{}
	c.check("password", password)
	if err := c.err(); err != nil {
		return nil, err
	}
	if target, err := s.Get(ctx, id); err != nil {
		return nil, err
	} else if err := Authorize(by.User, ActSetPassword, target); err != nil {
		return nil, err // before spending a hash on it
	} else if err := stateConflict(by, ActSetPassword, target); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return nil, err
	}
	return s.apply(ctx, by, id, transition{act: ActSetPassword, event: EvPassword, endSessions: true,
		set: func(q *bun.UpdateQuery, _ *User) { q.Set("password_hash = ?", hash) },
	}, "")
}

// RevokeSessions ends every session of the account ("sign out everywhere").
func (s *Service) RevokeSessions(ctx context.Context, by Actor, id int64) (*User, error) {
	return s.apply(ctx, by, id, transition{act: ActRevokeSessions, event: EvSessionsRevoke, endSessions: true,
		set: func(*bun.UpdateQuery, *User) {},
	}, "")
}

// Purge hard-deletes a soft-deleted account (superadmin only). Its events
// stay, with the account's name in their detail.
func (s *Service) Purge(ctx context.Context, by Actor, id int64) error {
	var gone *User
	err := s.runInTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u, err := s.lockUser(ctx, tx, id)
		if err != nil {
			return err
		}
		gone = u
		if err := Authorize(by.User, ActPurge, u); err != nil {
			return err
		}
		if err := s.record(ctx, tx, by, EvPurge, &id, "username="+u.Username+" id="+strconv.FormatInt(id, 10)); err != nil {
			return err
		}
		_, err = tx.NewDelete().Model((*User)(nil)).Where("id = ?", id).Exec(ctx)
		return err
	})
	if err == nil {
		s.accountMoved(cellOf(gone), nil)
	}
	return err
}

// HasSuperadmin reports whether any active superadmin exists (first run).
func (s *Service) HasSuperadmin(ctx context.Context) (bool, error) {
	return s.db.NewSelect().Model((*User)(nil)).
		Where("level = ? AND type = ?", LevelSuperadmin, TypeActive).Exists(ctx)
}
