package handlers

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

const tplOutbox = "admin/outbox"

// OutboxMessage is one outbox line as the page draws it: the message, its
// text cut into plain parts and links, or Hidden when it concerns an
// account at or above the viewer's level (its links would let the viewer
// act as that account).
type OutboxMessage struct {
	models.Mail
	Hidden bool
	Parts  []TextPart
}

// TextPart is a piece of a message's text; Link parts are drawn as links.
type TextPart struct {
	Text string
	Link bool
}

// outboxStatuses are the filter values of the outbox page.
var outboxStatuses = []string{models.MailOutbox, models.MailPending, models.MailSent, models.MailFailed}

// ShowOutbox lists the site's e-mail, newest first (GET /admin/outbox):
// with no mail server, the place to read them; with SMTP, the delivery log.
func (h *Handler) ShowOutbox(c *fiber.Ctx) error {
	status := c.Query("status")
	known := status == ""
	for _, s := range outboxStatuses {
		known = known || s == status
	}
	if !known {
		status = ""
	}
	page, err := h.Users.Outbox(c.UserContext(), models.OutboxFilter{Status: status, Page: queryInt(c, "page", 1)})
	if err != nil {
		return err
	}
	me := Me(c)
	rows := make([]OutboxMessage, len(page.Items))
	for i, m := range page.Items {
		rows[i] = OutboxMessage{Mail: m}
		if m.User != nil && m.User.ID != me.ID && m.User.Level >= me.Level && !me.IsSuperadmin() {
			rows[i].Hidden = true
			continue
		}
		rows[i].Parts = linkParts(m.Text, h.Opts.BaseURL+"/")
	}
	query := url.Values{}
	if status != "" {
		query.Set("status", status)
	}
	transport, smtp := models.TransportOutbox, ""
	if h.Mail != nil {
		transport, smtp = h.Mail.Transport(), h.Mail.SMTPAddress()
	}
	return h.render(c, tplOutbox, Page{Title: "Outbox", Data: fiber.Map{
		"Section":   "outbox",
		"Messages":  rows,
		"Result":    page,
		"Status":    status,
		"Statuses":  outboxStatuses,
		"Query":     query,
		"Transport": transport,
		"SMTP":      smtp,
	}})
}

// linkParts cuts text into plain parts and the site's own links (those
// starting with prefix), so that the page can make only those clickable.
func linkParts(text, prefix string) []TextPart {
	var parts []TextPart
	for {
		i := strings.Index(text, prefix)
		if i < 0 {
			break
		}
		end := i + strings.IndexAny(text[i:]+" ", " \t\r\n")
		link := strings.TrimRight(text[i:end], ".,;:!?)\"'>")
		end = i + len(link)
		if i > 0 {
			parts = append(parts, TextPart{Text: text[:i]})
		}
		parts = append(parts, TextPart{Text: link, Link: true})
		text = text[end:]
	}
	if text != "" {
		parts = append(parts, TextPart{Text: text})
	}
	return parts
}
