package handlers

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

const tplAPIKeys = "admin/keys"

// apiKeyRow is one line of the keys table.
type apiKeyRow struct {
	*models.APIKey
	CanRevoke bool
}

func (h *Handler) apiKeysPage(c *fiber.Ctx, status int, form fiber.Map, errs map[string]string) error {
	page, err := h.Users.APIKeys(c.UserContext(), models.APIKeyFilter{Page: queryInt(c, "page", 1)})
	if err != nil {
		return err
	}
	me := Me(c)
	rows := make([]apiKeyRow, len(page.Items))
	for i := range page.Items {
		rows[i] = apiKeyRow{APIKey: &page.Items[i], CanRevoke: !page.Items[i].Revoked() && models.CanRevokeAPIKey(me, &page.Items[i])}
	}
	if form == nil {
		form = fiber.Map{"name": "", "scope": models.ScopeReadWrite, "expires": ""}
	}
	newKey, newKeyName := session(c).takeNewAPIKey()
	return h.render(c, tplAPIKeys, Page{Title: "API keys", Status: status, Data: fiber.Map{
		"Keys": rows, "Result": page, "Query": url.Values{}, "Form": form, "Errors": errs,
		"NewKey": newKey, "NewKeyName": newKeyName, "Section": "keys", "Lifetimes": tokenLifetimes, "Now": h.Users.Now(),
	}})
}

// ShowAPIKeys lists the API keys, with the form to make one; right after
// a key is made, it shows that key, once.
func (h *Handler) ShowAPIKeys(c *fiber.Ctx) error {
	return h.apiKeysPage(c, fiber.StatusOK, nil, nil)
}

// CreateAPIKey makes a key acting as the signed-in admin, with a scope
// (read, or read write) and an optional expiry. The key travels
// to the next page in the (encrypted) session cookie and is dropped from
// it as soon as that page shows it, so it is never in a URL or a log.
func (h *Handler) CreateAPIKey(c *fiber.Ctx) error {
	form := fiber.Map{"name": c.FormValue("name"), "scope": c.FormValue("scope"), "expires": c.FormValue("expires")}
	n := models.NewAPIKey{Name: c.FormValue("name"), Scope: c.FormValue("scope")}
	if v := c.FormValue("expires"); v != "" {
		d, ok := models.ParseLifetime(v)
		if !ok {
			return h.apiKeysPage(c, fiber.StatusUnprocessableEntity, form, map[string]string{"expires": "Pick one of the choices."})
		}
		n.ExpiresAt = h.Users.Now().Add(d)
	}
	k, key, err := h.Users.CreateKey(c.UserContext(), actor(c), n)
	if fields, ok := fieldErrors(err); ok {
		return h.apiKeysPage(c, fiber.StatusUnprocessableEntity, form, fields)
	}
	if err != nil {
		return err
	}
	session(c).keepNewAPIKey(key, k.Name) // the page shows it in its own box: no flash
	return redirect(c, "/admin/keys")
}

// RevokeAPIKey ends a key for good: requests with it are refused from now on.
func (h *Handler) RevokeAPIKey(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	k, err := h.Users.RevokeAPIKey(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	flash(c, "success", "The key “"+k.Name+"” ("+k.Prefix+") is revoked.")
	return redirect(c, "/admin/keys")
}

// keepNewAPIKey keeps a newly made API key in the session for one page view.
func (s *Session) keepNewAPIKey(key, name string) {
	s.v.NewKey = &newKeyValue{Key: key, Name: name}
	s.dirty, s.expire = true, false
}

// takeNewAPIKey returns and forgets the key kept by keepNewAPIKey.
func (s *Session) takeNewAPIKey() (key, name string) {
	if s == nil || s.v.NewKey == nil {
		return "", ""
	}
	k := s.v.NewKey
	s.v.NewKey = nil
	s.dirty = true
	return k.Key, k.Name
}
