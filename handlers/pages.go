package handlers

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// Templates of this file.
const (
	tplHome      = "home"
	tplDashboard = "member/dashboard"
	tplProfile   = "profile/show"
)

// Home is the front page: who is online and how many accounts there are.
//
// Visitors without a session (no account, no message waiting) all see the
// same page until the counts change, so it is drawn once per change of the
// counts (at most every CountsTTL) — unless a designer put the CSRF token in
// it, which is each visitor's own, or templates are being edited.
func (h *Handler) Home(c *fiber.Ctx) error {
	counts, err := h.Users.Counts(c.UserContext())
	if err != nil {
		return err
	}
	guest := Me(c) == nil && !session(c).HasFlashes() && h.keepsDrawn()
	key := fmt.Sprintf("%d/%d/%d", counts.Members, counts.Guests, counts.Total)
	if guest {
		if body := h.guestHome.get(key); body != nil {
			return sendPage(c, fiber.StatusOK, body)
		}
	}
	body, err := h.draw(c, tplHome, Page{Title: "Home", Data: fiber.Map{"Counts": counts}})
	if err != nil {
		return err
	}
	if token, _ := c.Locals(localCSRF).(string); guest && (token == "" || !bytes.Contains(body, []byte(token))) {
		h.guestHome.put(key, body)
	}
	return sendPage(c, fiber.StatusOK, body)
}

// Dashboard is the signed-in account's own page.
func (h *Handler) Dashboard(c *fiber.Ctx) error {
	me := Me(c)
	events, err := h.Users.Events(c.UserContext(), models.EventFilter{TargetID: me.ID, Limit: 10})
	if err != nil {
		return err
	}
	return h.render(c, tplDashboard, Page{Title: "Dashboard", Data: fiber.Map{
		"User": me, "Events": events.Items, "Online": true,
	}})
}

// ShowProfile is the public profile of an account, found by username in
// any case; deleted and unknown accounts are a 404.
func (h *Handler) ShowProfile(c *fiber.Ctx) error {
	u, err := h.Users.GetByUsername(c.UserContext(), c.Params("username"))
	if err != nil {
		return err
	}
	if u.Type == models.TypeDeleted {
		return models.ErrNotFound
	}
	me := Me(c)
	owner, online, showEmail := me != nil && me.ID == u.ID, h.Users.IsOnline(u), models.CanSeeEmail(me, u)
	return h.render(c, tplProfile, Page{Title: u.Username, Data: fiber.Map{
		"Profile":   u,
		"IsOwner":   owner,
		"Online":    online,
		"ShowEmail": showEmail,
	}, Key: profileKey(u, owner, online, showEmail)})
}

// profileKey names what profile/show shows: the account as read (its
// Snapshot), the time words drawn from it, and what this viewer may see.
func profileKey(u *models.User, owner, online, showEmail bool) string {
	if u.Snapshot == 0 {
		return ""
	}
	return strconv.FormatInt(u.ID, 10) + "\x00" + strconv.FormatUint(u.Snapshot, 10) + "\x00" +
		ago(u.LastSeenAt) + "\x00" + ago(u.CreatedAt) + "\x00" +
		strconv.FormatBool(owner) + strconv.FormatBool(online) + strconv.FormatBool(showEmail)
}

// Healthz says the process is alive.
func (h *Handler) Healthz(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.SendString("ok")
}

// Readyz says whether the database answers (200) or not (503), and 503
// from the moment the server is told to stop (see Drain).
func (h *Handler) Readyz(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	if h.draining.Load() {
		return c.Status(fiber.StatusServiceUnavailable).SendString("shutting down")
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := h.Users.Ping(ctx); err != nil {
		h.Log.WarnContext(ctx, "readiness check failed", "err", err)
		return c.Status(fiber.StatusServiceUnavailable).SendString("database unavailable")
	}
	return c.SendString("ready")
}

// Drain marks the server as stopping: /readyz answers 503 and every
// answer closes its connection, so that load balancers and keep-alive
// clients move to other instances while requests are still served.
func (h *Handler) Drain() { h.draining.Store(true) }

// CloseWhenDraining asks clients to reconnect (elsewhere) once the server
// is draining.
func (h *Handler) CloseWhenDraining(c *fiber.Ctx) error {
	if h.draining.Load() {
		c.Response().SetConnectionClose()
	}
	return c.Next()
}
