package models

// Action names something one account does to another (SPEC §3).
type Action string

// The actions on accounts, as checked by Authorize and written to events.
const (
	ActCreate         Action = "create"
	ActEdit           Action = "edit"
	ActBan            Action = "ban"
	ActUnban          Action = "unban"
	ActDelete         Action = "delete"
	ActRestore        Action = "restore"
	ActPurge          Action = "purge"
	ActSetPassword    Action = "set_password"
	ActSendReset      Action = "send_reset"
	ActConfirm        Action = "confirm"
	ActRevokeSessions Action = "revoke_sessions"
	ActResetMFA       Action = "reset_mfa"
)

// minLevel is the lowest level that may take each action.
var minLevel = map[Action]int{
	ActBan:            LevelModerator,
	ActUnban:          LevelModerator,
	ActCreate:         LevelAdmin,
	ActEdit:           LevelAdmin,
	ActDelete:         LevelAdmin,
	ActRestore:        LevelAdmin,
	ActSetPassword:    LevelAdmin,
	ActSendReset:      LevelAdmin,
	ActConfirm:        LevelAdmin,
	ActRevokeSessions: LevelAdmin,
	ActResetMFA:       LevelAdmin,
	ActPurge:          LevelSuperadmin,
}

// Authorize reports whether actor may take act on target: nil, or a
// *DeniedError saying why. A nil actor is the system (command line) and may
// do anything. It checks levels and states only; the last-superadmin rule
// needs the database and lives in the service.
func Authorize(actor *User, act Action, target *User) error {
	if actor == nil {
		return nil
	}
	need, known := minLevel[act]
	if !known {
		return denied("unknown action %q", act)
	}
	if actor.Type != TypeActive {
		return denied("your account is not active")
	}
	if act == ActRevokeSessions && target != nil && target.ID == actor.ID {
		return nil // anyone may sign themselves out everywhere
	}
	if actor.Level < need {
		return denied("this needs the %s role", Role(need))
	}
	if target == nil { // create: the level granted is checked by CanGrant
		return nil
	}
	if target.ID == actor.ID {
		switch act {
		case ActEdit, ActRevokeSessions:
			return nil
		}
		return denied("you can't %s your own account", actionVerb(act))
	}
	if target.Level >= actor.Level {
		return denied("you can only act on accounts below your own level")
	}
	switch act {
	case ActBan:
		if target.Type == TypeBanned {
			return denied("the account is already banned")
		}
		if target.Type == TypeDeleted {
			return denied("the account is deleted")
		}
	case ActUnban:
		if target.Type != TypeBanned {
			return denied("the account is not banned")
		}
	case ActDelete:
		if target.Type == TypeDeleted {
			return denied("the account is already deleted")
		}
	case ActRestore:
		if target.Type != TypeDeleted {
			return denied("the account is not deleted")
		}
	case ActPurge:
		if target.Type != TypeDeleted {
			return denied("only a deleted account can be purged; delete it first")
		}
	}
	return nil
}

// CanGrant reports whether actor may give an account the given level: the
// system and a superadmin any level, an admin at most their own level
// minus one, anyone else (moderators, accounts that aren't active) none.
func CanGrant(actor *User, level int) bool {
	if level < 0 || level > MaxLevel {
		return false
	}
	switch {
	case actor == nil || actor.IsSuperadmin():
		return true
	case actor.IsAdmin():
		return level < actor.Level
	}
	return false
}

// GrantableLevels lists the levels actor may give, lowest first.
func GrantableLevels(actor *User) []int {
	var out []int
	for l := 0; l <= MaxLevel; l++ {
		if CanGrant(actor, l) {
			out = append(out, l)
		}
	}
	return out
}

// CanSeeEmail reports whether viewer may see target's e-mail address:
// their own always, others' from the admin level up.
func CanSeeEmail(viewer, target *User) bool {
	if viewer == nil || target == nil {
		return false
	}
	return viewer.ID == target.ID || viewer.IsAdmin()
}

// Can reports whether actor may take act on target and whether it makes
// sense on the account as it is now (Authorize and StateConflict), for
// showing buttons: a page offers what the service would do.
func Can(actor *User, act Action, target *User) bool {
	return Authorize(actor, act, target) == nil && StateConflict(act, target) == ""
}

// StateConflict says, as a sentence to show, why act makes no sense on the
// account in its present state, or "" when it does: a deleted account is
// restored first (or purged), a banned one unbanned first; a reset link
// needs an address, confirming needs an address not yet confirmed (or an
// account waiting for it). (Whether a two-factor reset has anything to
// remove, two-factor or passkeys, is the page's to show: ResetMFA says
// "nothing to remove".) The service
// refuses these with a *ConflictError for people (the system, i.e. the
// command line, may still set a banned account's password); the state
// rules of ban, unban, delete, restore and purge themselves are
// Authorize's. Editing stays possible on every state: the API and the
// site's scripts restore an account by setting its type.
func StateConflict(act Action, u *User) string {
	if u == nil {
		return ""
	}
	switch act {
	case ActSetPassword, ActSendReset, ActConfirm, ActRevokeSessions, ActResetMFA:
		switch u.Type {
		case TypeDeleted:
			return u.Username + " is deleted: restore the account first."
		case TypeBanned:
			return u.Username + " is banned: lift the ban first."
		}
	}
	switch act {
	case ActSendReset:
		if u.EmailAddress() == "" {
			return u.Username + " has no e-mail address to send a link to."
		}
	case ActConfirm:
		if u.EmailAddress() == "" {
			return u.Username + " has no e-mail address to confirm."
		}
		if u.EmailVerifiedAt != nil && u.Type != TypeInactive {
			return u.Username + "'s e-mail address is already confirmed."
		}
	}
	return ""
}

// stateConflict is StateConflict as the service's refusal (409), for
// people; the system is refused nothing here.
func stateConflict(by Actor, act Action, u *User) error {
	if by.User == nil {
		return nil
	}
	if msg := StateConflict(act, u); msg != "" {
		return &ConflictError{Field: "state", Message: msg}
	}
	return nil
}

func actionVerb(a Action) string {
	switch a {
	case ActSetPassword:
		return "set the password of"
	case ActSendReset:
		return "send a reset to"
	case ActRevokeSessions:
		return "sign out"
	case ActResetMFA:
		return "reset the two-factor sign-in of"
	}
	return string(a)
}
