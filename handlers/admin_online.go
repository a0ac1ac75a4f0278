package handlers

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

const tplAdminOnline = "admin/online"

// ShowOnline lists the members and guests seen within the online window,
// newest first, with the page they are on; the title carries the count.
func (h *Handler) ShowOnline(c *fiber.Ctx) error {
	ctx := c.UserContext()
	kind := strings.ToLower(strings.TrimSpace(c.Query("kind")))
	errs := map[string]string{}
	switch kind {
	case "", "all":
		kind = ""
	case "members", "guests":
	default:
		errs["kind"] = "Show all, members or guests."
		kind = ""
	}
	res, err := h.Users.Online(ctx, models.OnlineFilter{Kind: kind, Page: queryInt(c, "page", 1), Limit: models.DefaultLimit})
	if err != nil {
		return err
	}
	members, guests, err := h.Users.OnlineCounts(ctx)
	if err != nil {
		return err
	}
	q := url.Values{}
	if kind != "" {
		q["kind"] = []string{kind}
	}
	status := fiber.StatusOK
	if len(errs) > 0 {
		status = fiber.StatusUnprocessableEntity
	}
	title := "Online: " + strconv.Itoa(members) + " " + pluralWord(members, "member") + ", " +
		strconv.Itoa(guests) + " " + pluralWord(guests, "guest")
	return h.render(c, tplAdminOnline, Page{Title: title, Status: status, Data: fiber.Map{
		"Section":   "online",
		"Result":    res,
		"Kind":      kind,
		"Query":     q,
		"Members":   members,
		"Guests":    guests,
		"Window":    windowText(h.Users.OnlineWindow()),
		"ShowIP":    Me(c).IsAdmin(),
		"ErrorList": errorList(errs),
	}})
}

// windowText says how long the online window is, in words ("5 minutes").
func windowText(d time.Duration) string {
	if d < time.Minute {
		return plural(int(d/time.Second), "second")
	}
	if d%time.Hour == 0 {
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/time.Minute), "minute")
}

func pluralWord(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
