package handlers

import (
	"bytes"
	"html/template"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// Drawn templates are kept this long, and this many at most; list pages
// (Page.ListKey: tens of kilobytes each, one per filter, sort and page)
// fewer.
const (
	fragmentTTL     = time.Minute
	fragmentMax     = 10000
	listFragmentMax = 256
)

// fragmentCache keeps drawn templates by a key that names everything they
// show: the nav bar of each signed-in member (per section of the site and
// CSRF token), the nav bar of visitors, and page templates whose handler
// gives a Page.Key (a profile). html/template costs about a microsecond per
// {{…}} action; a page view that finds its pieces here runs the layout alone.
type fragmentCache struct {
	mu sync.RWMutex
	m  map[string]cachedFragment
}

type cachedFragment struct {
	html    template.HTML
	expires time.Time
}

func (fc *fragmentCache) get(key string, now time.Time) (template.HTML, bool) {
	fc.mu.RLock()
	f, ok := fc.m[key]
	fc.mu.RUnlock()
	if !ok || now.After(f.expires) {
		return "", false
	}
	return f.html, true
}

func (fc *fragmentCache) put(key string, html template.HTML, now time.Time, limit int) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.m == nil {
		fc.m = map[string]cachedFragment{}
	}
	if _, ok := fc.m[key]; !ok && len(fc.m) >= limit {
		for k, f := range fc.m { // map order: an arbitrary victim, expired ones first
			delete(fc.m, k)
			if now.Before(f.expires) {
				break
			}
		}
	}
	fc.m[key] = cachedFragment{html: html, expires: now.Add(fragmentTTL)}
}

// keepsDrawn says whether drawn pages and pieces may be kept and reused:
// not while a designer edits the templates (VIEWS_DIR, re-read on every
// request) or in development. Every cache of drawn HTML asks it.
func (h *Handler) keepsDrawn() bool { return !h.Views.ShouldReload && !h.Opts.Development }

// fragment draws the template name with data, or returns its drawing for
// the same key from the last fragmentTTL. When keepsDrawn says no, and for
// the key "", it is drawn every time.
func (h *Handler) fragment(name, key string, data any) (template.HTML, error) {
	return h.keep(&h.fragments, fragmentMax, name, key, data)
}

// listFragment is fragment for a list page's content (Page.ListKey), kept
// in a cache of its own, smaller: list pages are big and many.
func (h *Handler) listFragment(name, key string, data any) (template.HTML, error) {
	return h.keep(&h.lists, listFragmentMax, name, key, data)
}

func (h *Handler) keep(fc *fragmentCache, limit int, name, key string, data any) (template.HTML, error) {
	if !h.keepsDrawn() || key == "" {
		return h.drawFragment(name, data)
	}
	key = name + "\x00" + key
	now := time.Now()
	if html, ok := fc.get(key, now); ok {
		return html, nil
	}
	html, err := h.drawFragment(name, data)
	if err == nil {
		fc.put(key, html, now, limit)
	}
	return html, err
}

func (h *Handler) drawFragment(name string, data any) (template.HTML, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := h.execute(buf, name, data); err != nil {
		return "", templateError(name, err)
	}
	return template.HTML(buf.String()), nil //nolint:gosec // drawn by html/template
}

// navKey names what partials/nav shows: the signed-in account as read
// (its Snapshot), or a visitor; the section of the site; the CSRF token of
// its sign-out form. "" (an account of no known snapshot) keeps nothing.
func navKey(me *models.User, section string, csrf any) string {
	if me == nil {
		return "visitor\x00" + section
	}
	if me.Snapshot == 0 {
		return ""
	}
	tok, _ := csrf.(string)
	return strconv.FormatInt(me.ID, 10) + "\x00" + strconv.FormatUint(me.Snapshot, 10) +
		"\x00" + section + "\x00" + tok
}

// sections are the pages the nav bar marks as current (.Section).
var sections = map[string]string{"/": "home", "/dashboard": "dashboard", "/settings": "settings", "/settings/tokens": "settings",
	"/login": "login", "/register": "register"}

// section is the nav bar's name for the page asked for, or "": one of
// sections, or "profile" on the signed-in member's own profile.
func section(c *fiber.Ctx) string {
	path := c.Path()
	if me := Me(c); me != nil && strings.HasPrefix(path, "/profile/") && strings.EqualFold(path[len("/profile/"):], me.Username) {
		return "profile"
	}
	return sections[path]
}
