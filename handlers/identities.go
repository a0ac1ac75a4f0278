package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// identityRow is one linked identity as the pages show it.
type identityRow struct {
	models.Identity
	Label string // the provider's label ("GitHub"), or its name when no longer configured
}

func (h *Handler) identityRows(ids []models.Identity) []identityRow {
	out := make([]identityRow, len(ids))
	for i, id := range ids {
		out[i] = identityRow{Identity: id, Label: h.providerLabel(id.Provider)}
	}
	return out
}

// identitiesData is what partials/identities draws for the signed-in
// account: its identities, the providers it may still link, whether it has
// a password, and whether it has another way in (a password or a passkey:
// without one the last identity can't be unlinked).
func (h *Handler) identitiesData(c *fiber.Ctx) (fiber.Map, error) {
	me := Me(c)
	ids, err := h.Users.Identities(c.UserContext(), actor(c), me.ID)
	if err != nil {
		return nil, err
	}
	linked := map[string]bool{}
	for _, id := range ids {
		linked[id.Provider] = true
	}
	var more []providerButton
	for _, p := range h.providerButtons() {
		if !linked[p.Name] {
			more = append(more, p)
		}
	}
	other, err := h.Users.SignsInWithoutIdentity(c.UserContext(), me)
	if err != nil {
		return nil, err
	}
	return fiber.Map{
		"Identities":  h.identityRows(ids),
		"CanLink":     more,
		"HasPassword": me.HasPassword(),
		"OtherWayIn":  other,
	}, nil
}

// UnlinkOwnIdentity removes one of the member's identities (POST
// /settings/identities/:identity/unlink), unless it is the last way in.
func (h *Handler) UnlinkOwnIdentity(c *fiber.Ctx) error {
	id, err := paramID(c, "identity")
	if err != nil {
		return err
	}
	me := Me(c)
	err = h.Users.UnlinkIdentity(c.UserContext(), actor(c), me.ID, id)
	if de, ok := err.(*models.DeniedError); ok {
		flash(c, "error", "Not unlinked: "+de.Reason+".")
		return redirect(c, "/settings/security")
	}
	if err != nil {
		return err
	}
	flash(c, "success", "Unlinked. That provider no longer signs you in here.")
	return redirect(c, "/settings/security")
}

// UnlinkUserIdentity is the console's unlink (POST
// /admin/users/:id/identities/:identity/unlink): admins, on accounts below
// their level; never the account's last way to sign in.
func (h *Handler) UnlinkUserIdentity(c *fiber.Ctx) error {
	uid, err := paramID(c, "id")
	if err != nil {
		return err
	}
	id, err := paramID(c, "identity")
	if err != nil {
		return err
	}
	back := "/admin/users/" + strconv.FormatInt(uid, 10)
	err = h.Users.UnlinkIdentity(c.UserContext(), actor(c), uid, id)
	if de, ok := err.(*models.DeniedError); ok {
		flash(c, "error", "Not unlinked: "+de.Reason+".")
		return redirect(c, back)
	}
	if err != nil {
		return err
	}
	flash(c, "success", "Identity unlinked.")
	return redirect(c, back)
}
