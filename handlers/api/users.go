package api

import (
	"maps"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// ListUsers is GET /api/v1/users: the filter of SPEC §2 as query
// parameters (type, level, role, search, sort, page, limit; limit 20 by
// default, at most 100). Below staff, deleted accounts are left out; below
// admin, e-mail addresses are, and the search doesn't look at them.
func (h *Handler) ListUsers(c *fiber.Ctx) error {
	q := &apiQuery{c: c, errs: map[string]string{}}
	// The filter as the console, the bulk actions and the export read it.
	f, errs := models.FilterFields{Type: q.text("type"), Role: q.text("role"), Level: q.text("level"), Search: q.text("search"),
		Group: q.text("group"), CreatedFrom: q.text("created_from"), CreatedTo: q.text("created_to")}.Filter()
	maps.Copy(q.errs, errs)
	f.Sort, f.Page, f.Limit = q.text("sort"), q.integer("page", 1, 1), q.integer("limit", defaultLimit, 1)
	if err := q.err(); err != nil {
		return err
	}
	me := Me(c)
	page, err := h.Users.ListAs(c.UserContext(), me, f)
	if err != nil {
		return err
	}
	if page.Beyond {
		return &models.ValidationError{Fields: map[string]string{"page": models.WindowNote(page.AtLeast, f.Sort)}}
	}
	return list(c, page, func(u *models.User) User { return h.userFor(me, u) })
}

// GetMe is GET /api/v1/users/me: the account the key acts as.
func (h *Handler) GetMe(c *fiber.Ctx) error {
	me := Me(c)
	return one(c, http.StatusOK, h.userFor(me, me))
}

// GetUser is GET /api/v1/users/:id, where :id is an id, a username or
// (for admins) an e-mail address. A deleted account is a 404 below staff.
func (h *Handler) GetUser(c *fiber.Ctx) error {
	me := Me(c)
	u, err := h.Users.FindAs(c.UserContext(), me, c.Params("id"))
	if err != nil {
		return err
	}
	return one(c, http.StatusOK, h.userFor(me, u))
}

// CreateUser is POST /api/v1/users: username and password required;
// email, name, level (the default level when left out), type (1 Active by
// default), avatar, group and var optional. 201 with the new account.
func (h *Handler) CreateUser(c *fiber.Ctx) error {
	me := Me(c)
	if err := models.Authorize(me, models.ActCreate, nil); err != nil {
		return err // before reading a body this key may not send
	}
	b, err := readJSONObject(c)
	if err != nil {
		return err
	}
	n := models.NewUser{Level: h.Users.DefaultLevel(), Type: models.TypeActive}
	for name, dst := range map[string]*string{"username": &n.Username, "password": &n.Password} {
		if v := b.text(name, false); v != nil {
			*dst = *v
		}
	}
	for name, dst := range map[string]*string{"email": &n.Email, "name": &n.Name, "avatar": &n.Avatar, "group": &n.Group} {
		if v := b.text(name, true); v != nil {
			*dst = *v
		}
	}
	if v := b.small("level"); v != nil {
		n.Level = *v
	}
	if v := b.small("type"); v != nil {
		n.Type = *v
	}
	n.Var = b.object("var")
	if err := b.done(); err != nil {
		return err
	}
	u, err := h.Users.Create(c.UserContext(), actor(c), n)
	if err != nil {
		return err
	}
	c.Location("/api/v1/users/" + strconv.FormatInt(u.ID, 10))
	return one(c, http.StatusCreated, h.userFor(me, u))
}

// UpdateUser is PATCH /api/v1/users/:id: only the fields sent change
// (username, email, name, password, level, type, points — or point, as
// the REST seed spells it —, avatar, group, var). email, name, avatar and
// group may be null to clear them; a var key set to null is removed.
func (h *Handler) UpdateUser(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	if err := models.Authorize(Me(c), models.ActEdit, nil); err != nil {
		return err // before reading a body this key may not send
	}
	b, err := readJSONObject(c)
	if err != nil {
		return err
	}
	p := models.Patch{
		Username: b.text("username", false),
		Password: b.text("password", false),
		Email:    b.text("email", true),
		Name:     b.text("name", true),
		Avatar:   b.text("avatar", true),
		Group:    b.text("group", true),
		Level:    b.small("level"),
		Type:     b.small("type"),
		Var:      b.object("var"),
	}
	points, point := b.integer("points"), b.integer("point")
	switch {
	case points != nil && point != nil:
		b.errs["points"] = "Send points or point, not both."
	case points != nil:
		p.Points = points
	default:
		p.Points = point
	}
	if err := b.done(); err != nil {
		return err
	}
	u, err := h.Users.Update(c.UserContext(), actor(c), id, p)
	if err != nil {
		return err
	}
	return one(c, http.StatusOK, h.userFor(Me(c), u))
}

// DeleteUser is DELETE /api/v1/users/:id: a soft delete (type 4), for
// admins, on accounts below their level; 200 with the deleted account.
// With ?purge=true, a superadmin erases an already deleted account (204).
func (h *Handler) DeleteUser(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	purge, err := boolQuery(c, "purge")
	if err != nil {
		return err
	}
	if purge {
		return h.purge(c, id)
	}
	u, err := h.Users.Delete(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	return one(c, http.StatusOK, h.userFor(Me(c), u))
}
