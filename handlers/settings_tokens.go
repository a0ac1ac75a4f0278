package handlers

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

const tplTokens = "member/tokens"

// tokenLifetimes are the expiries the personal-token form offers ("" is never).
var tokenLifetimes = []struct{ Value, Label string }{
	{"30d", "in 30 days"}, {"7d", "in 7 days"}, {"90d", "in 90 days"}, {"1y", "in a year"}, {"", "never"},
}

func (h *Handler) tokensPage(c *fiber.Ctx, status int, form fiber.Map, errs map[string]string) error {
	me := Me(c)
	page, err := h.Users.APIKeys(c.UserContext(), models.APIKeyFilter{Owner: me.ID, Page: queryInt(c, "page", 1)})
	if err != nil {
		return err
	}
	if form == nil {
		form = fiber.Map{"name": "", "scope": models.ScopeReadWrite, "expires": "30d"}
	}
	newKey, newKeyName := session(c).takeNewAPIKey()
	return h.render(c, tplTokens, Page{Title: "API tokens", Status: status, Data: fiber.Map{
		"Tokens": page.Items, "Result": page, "Form": form, "Errors": errs, "Lifetimes": tokenLifetimes,
		"NewKey": newKey, "NewKeyName": newKeyName, "Now": h.Users.Now(), "Query": url.Values{},
	}})
}

// ShowTokens lists the member's personal tokens (and any key made for
// their account), with the form to make one; right after a token is
// made, it shows that token, once.
func (h *Handler) ShowTokens(c *fiber.Ctx) error {
	return h.tokensPage(c, fiber.StatusOK, nil, nil)
}

// CreateToken makes a personal token for the signed-in account: name,
// scope (read, or read write), expiry. Like a console key, it travels to
// the next page in the encrypted session cookie and is shown once.
func (h *Handler) CreateToken(c *fiber.Ctx) error {
	form := fiber.Map{"name": c.FormValue("name"), "scope": c.FormValue("scope"), "expires": c.FormValue("expires")}
	n := models.NewAPIKey{Name: c.FormValue("name"), Kind: models.KindToken, Scope: c.FormValue("scope")}
	if v := c.FormValue("expires"); v != "" {
		d, ok := models.ParseLifetime(v)
		if !ok {
			return h.tokensPage(c, fiber.StatusUnprocessableEntity, form, map[string]string{"expires": "Pick one of the choices."})
		}
		n.ExpiresAt = h.Users.Now().Add(d)
	}
	k, key, err := h.Users.CreateKey(c.UserContext(), actor(c), n)
	if fields, ok := fieldErrors(err); ok {
		return h.tokensPage(c, fiber.StatusUnprocessableEntity, form, fields)
	}
	if err != nil {
		return err
	}
	session(c).keepNewAPIKey(key, k.Name)
	return redirect(c, "/settings/tokens")
}

// RevokeToken ends one of the member's own tokens for good.
func (h *Handler) RevokeToken(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	k, err := h.Users.APIKey(c.UserContext(), id)
	if err != nil {
		return err
	}
	if k.CreatedBy != Me(c).ID {
		return models.ErrNotFound // another account's token: as if there were none
	}
	if _, err := h.Users.RevokeAPIKey(c.UserContext(), actor(c), id); err != nil {
		return err
	}
	flash(c, "success", "The token “"+k.Name+"” ("+k.Prefix+") is revoked.")
	return redirect(c, "/settings/tokens")
}
