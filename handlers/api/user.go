package api

import (
	"github.com/webmin/webmin/models"
)

// User is an account as the API shows it: the REST seed's fields, plus
// name and group. Email is left out when the viewer may not see it (and is
// null when there is none); the account itself and admins also get the
// private fields.
type User struct {
	ID          int64          `json:"id"`
	Username    string         `json:"username"`
	Email       any            `json:"email,omitempty"`
	Name        string         `json:"name"`
	Level       int            `json:"level"`
	Role        string         `json:"role"`
	Type        int            `json:"type"`
	TypeLabel   string         `json:"type_label"`
	IsOnline    bool           `json:"is_online"`
	Points      int64          `json:"points"`
	CreatedAt   Time           `json:"created_at"`
	LastLoginAt *Time          `json:"last_login_at"`
	Avatar      string         `json:"avatar"`
	Var         map[string]any `json:"var"`
	Group       string         `json:"group"`
	*userPrivate
}

type userPrivate struct {
	UpdatedAt       Time  `json:"updated_at"`
	LastSeenAt      *Time `json:"last_seen_at"`
	EmailVerifiedAt *Time `json:"email_verified_at"`
	LoginCount      int64 `json:"login_count"`
	MFAEnabled      bool  `json:"mfa_enabled"` // two-factor sign-in is on (seed 004 mfaEnabled)
}

// userFor draws u as viewer may see it.
func (h *Handler) userFor(viewer, u *models.User) User {
	out := User{
		ID: u.ID, Username: u.Username, Name: u.Name, Level: u.Level, Role: u.Role(),
		Type: u.Type, TypeLabel: u.TypeLabel(), IsOnline: h.Users.IsOnline(u), Points: u.Points,
		CreatedAt: at(u.CreatedAt), LastLoginAt: atOrNull(u.LastLoginAt), Avatar: u.Avatar, Var: u.Var, Group: u.Group,
	}
	if out.Var == nil {
		out.Var = map[string]any{}
	}
	if models.CanSeeEmail(viewer, u) {
		out.Email = u.Email // a nil *string shows as null
		out.userPrivate = &userPrivate{UpdatedAt: at(u.UpdatedAt), LastSeenAt: atOrNull(u.LastSeenAt),
			EmailVerifiedAt: atOrNull(u.EmailVerifiedAt), LoginCount: u.LoginCount, MFAEnabled: u.MFAEnabled}
	}
	return out
}
