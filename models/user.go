package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/migrations"
)

// Account types (SPEC §1).
const (
	TypeActive   = 1
	TypeBanned   = 2
	TypeInactive = 3
	TypeDeleted  = 4
)

// Permission levels at which each role starts.
const (
	LevelPublic     = 0
	LevelUser       = 1
	LevelModerator  = 6
	LevelAdmin      = 8
	LevelSuperadmin = 10
	MaxLevel        = 10
)

// User is one account row.
type User struct {
	bun.BaseModel `bun:"table:users,alias:u"`

	ID              int64          `bun:"id,pk,autoincrement" json:"id"`
	Username        string         `bun:"username" json:"username"`
	Email           *string        `bun:"email" json:"email,omitempty"`
	Name            string         `bun:"name" json:"name"`
	PasswordHash    string         `bun:"password_hash" json:"-"`
	Level           int            `bun:"level" json:"level"`
	Type            int            `bun:"type" json:"type"`
	Points          int64          `bun:"points" json:"points"`
	Avatar          string         `bun:"avatar" json:"avatar"`
	Var             map[string]any `bun:"var,type:json" json:"var"`
	Group           string         `bun:"group_name" json:"group"`
	BanReason       string         `bun:"ban_reason" json:"-"`
	SessionVersion  int64          `bun:"session_version" json:"-"`
	LoginCount      int64          `bun:"login_count" json:"login_count"`
	LastLoginIP     string         `bun:"last_login_ip" json:"-"`
	LastLoginUA     string         `bun:"last_login_ua" json:"-"`
	CreatedAt       time.Time      `bun:"created_at" json:"created_at"`
	UpdatedAt       time.Time      `bun:"updated_at" json:"updated_at"`
	LastLoginAt     *time.Time     `bun:"last_login_at" json:"last_login_at"`
	LastSeenAt      *time.Time     `bun:"last_seen_at" json:"last_seen_at"`
	EmailVerifiedAt *time.Time     `bun:"email_verified_at" json:"email_verified_at"`
	MFAEnabled      bool           `bun:"mfa_enabled" json:"mfa_enabled"` // two-factor (TOTP) is on
	// UsernameSkeleton and EmailSkeleton are the look-alike forms of the
	// username and address (migrations.Skeleton), unique: set on insert by
	// BeforeAppendModel and with every change of either.
	UsernameSkeleton *string `bun:"username_skeleton" json:"-"`
	EmailSkeleton    *string `bun:"email_skeleton" json:"-"`

	// Snapshot names this reading of the account: two values with the
	// same non-zero Snapshot hold the same data, so what is drawn from one
	// may be kept for the other. Get and GetByUsername set it (a new one
	// whenever the account may have changed); it is 0 elsewhere.
	Snapshot uint64 `bun:"-" json:"-"`
}

// Role is the persona derived from a level (SPEC §1).
func Role(level int) string {
	switch {
	case level <= 0:
		return "public"
	case level <= 5:
		return "user"
	case level <= 7:
		return "moderator"
	case level <= 9:
		return "admin"
	default:
		return "superadmin"
	}
}

// Roles lists every role, lowest first.
var Roles = []string{"public", "user", "moderator", "admin", "superadmin"}

// RoleLevels gives the inclusive level range of a role; ok is false for an unknown role.
func RoleLevels(role string) (lo, hi int, ok bool) {
	switch role {
	case "public":
		return 0, 0, true
	case "user":
		return 1, 5, true
	case "moderator":
		return 6, 7, true
	case "admin":
		return 8, 9, true
	case "superadmin":
		return 10, 10, true
	}
	return 0, 0, false
}

// TypeLabel is the word for an account type.
func TypeLabel(t int) string {
	switch t {
	case TypeActive:
		return "Active"
	case TypeBanned:
		return "Banned"
	case TypeInactive:
		return "Inactive"
	case TypeDeleted:
		return "Deleted"
	}
	return "Unknown"
}

// Role is the account's persona.
func (u *User) Role() string { return Role(u.Level) }

// TypeLabel is the word for the account's type.
func (u *User) TypeLabel() string { return TypeLabel(u.Type) }

// EmailAddress is the e-mail address or "".
func (u *User) EmailAddress() string {
	if u.Email == nil {
		return ""
	}
	return *u.Email
}

// DisplayName is the name when set, otherwise the username.
func (u *User) DisplayName() string {
	if u.Name != "" {
		return u.Name
	}
	return u.Username
}

// IsStaff reports whether the account may open the admin console.
func (u *User) IsStaff() bool { return u != nil && u.Level >= LevelModerator && u.Type == TypeActive }

// IsAdmin reports whether the account has admin rights.
func (u *User) IsAdmin() bool { return u != nil && u.Level >= LevelAdmin && u.Type == TypeActive }

// IsSuperadmin reports whether the account has every right.
func (u *User) IsSuperadmin() bool {
	return u != nil && u.Level >= LevelSuperadmin && u.Type == TypeActive
}

// IsOnline reports whether the account was seen within window of now.
// A banned or deleted account is not: its sessions ended with the change.
func (u *User) IsOnline(now time.Time, window time.Duration) bool {
	if u.Type == TypeBanned || u.Type == TypeDeleted {
		return false
	}
	return u.LastSeenAt != nil && now.Sub(*u.LastSeenAt) <= window
}

// Event is one line of the audit log.
type Event struct {
	bun.BaseModel `bun:"table:events,alias:e"`

	ID        int64     `bun:"id,pk,autoincrement" json:"id"`
	ActorID   *int64    `bun:"actor_id" json:"actor_id"`
	Action    string    `bun:"action" json:"action"`
	TargetID  *int64    `bun:"target_id" json:"target_id"`
	IP        string    `bun:"ip" json:"ip"`
	UserAgent string    `bun:"user_agent" json:"user_agent"`
	Via       string    `bun:"via" json:"via"` // "API key wm_…" for the JSON API, "" for the pages and the command line
	Detail    string    `bun:"detail" json:"detail"`
	CreatedAt time.Time `bun:"created_at" json:"created_at"`

	Actor  *User `bun:"rel:belongs-to,join:actor_id=id" json:"actor,omitempty"`
	Target *User `bun:"rel:belongs-to,join:target_id=id" json:"target,omitempty"`
}

// Presence is one visitor's last page view.
type Presence struct {
	bun.BaseModel `bun:"table:presence,alias:p"`

	VisitorID  string    `bun:"visitor_id,pk" json:"visitor_id"`
	UserID     *int64    `bun:"user_id" json:"user_id"`
	Page       string    `bun:"page" json:"page"`
	IP         string    `bun:"ip" json:"ip"`
	UserAgent  string    `bun:"user_agent" json:"user_agent"`
	LastSeenAt time.Time `bun:"last_seen_at" json:"last_seen_at"`

	User *User `bun:"rel:belongs-to,join:user_id=id" json:"user,omitempty"`
}

var _ bun.BeforeAppendModelHook = (*User)(nil)

// BeforeAppendModel sets the skeletons of a new account, so that every
// insert (the service, the demo seeder) is checked for look-alikes.
func (u *User) BeforeAppendModel(_ context.Context, q bun.Query) error {
	if _, ok := q.(*bun.InsertQuery); ok {
		u.UsernameSkeleton = ptr(migrations.Skeleton(u.Username))
		u.EmailSkeleton = skeletonOf(u.Email)
	}
	return nil
}

// skeletonOf is the skeleton of an optional address.
func skeletonOf(email *string) *string {
	if email == nil || *email == "" {
		return nil
	}
	return ptr(migrations.Skeleton(*email))
}
