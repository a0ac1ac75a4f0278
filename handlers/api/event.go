package api

import (
	"github.com/webmin/webmin/models"
)

// Event is one line of the audit log as the API shows it: what happened
// (action, detail), who did it and to whom (each a short account
// reference, null when the system did it or the account is gone), when,
// and how it came (via: "API key wm_…" or ""). The address and browser
// it came from are for admins only, as on the console's pages.
type Event struct {
	ID        int64       `json:"id"`
	Action    string      `json:"action"`
	Actor     *AccountRef `json:"actor"`
	Target    *AccountRef `json:"target"`
	Detail    string      `json:"detail"`
	Via       string      `json:"via"`
	CreatedAt Time        `json:"created_at"`
	IP        *string     `json:"ip,omitempty"`
	UserAgent *string     `json:"user_agent,omitempty"`
}

// AccountRef names an account inside another resource.
type AccountRef struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

func accountRef(id *int64, u *models.User) *AccountRef {
	switch {
	case u != nil && u.ID != 0:
		return &AccountRef{ID: u.ID, Username: u.Username}
	case id != nil:
		return &AccountRef{ID: *id} // purged since: the id alone
	}
	return nil
}

// eventFor draws e as viewer may see it.
func eventFor(viewer *models.User, e *models.Event) Event {
	out := Event{ID: e.ID, Action: e.Action, Actor: accountRef(e.ActorID, e.Actor), Target: accountRef(e.TargetID, e.Target),
		Detail: e.Detail, Via: e.Via, CreatedAt: at(e.CreatedAt)}
	if viewer.IsAdmin() {
		out.IP, out.UserAgent = &e.IP, &e.UserAgent
	}
	return out
}
