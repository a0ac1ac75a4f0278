package handlers

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"html/template"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// Templates of the console's user pages.
const (
	tplAdminUsers   = "admin/users"
	tplAdminUser    = "admin/user"
	tplAdminNewUser = "admin/new"
)

// consoleSort is the console list's default order: newest accounts first.
const consoleSort = "-created_at"

// typeOptions are the choices of the list's type filter.
var typeOptions = []struct{ Value, Label string }{
	{"all", "All types"}, {"active", "Active"}, {"blocked", "Banned"}, {"inactive", "Inactive"}, {"deleted", "Deleted"},
}

// Page sizes offered by the list.
var pageSizes = []int{20, 50, 100}

// sortColumns are the list's sortable columns and the direction a first
// click sorts them in (dates and levels: highest first).
var sortColumns = map[string]string{
	"username":      "username",
	"level":         "-level",
	"created_at":    "-created_at",
	"last_login_at": "-last_login_at",
	"last_seen_at":  "-last_seen_at",
	"points":        "-points",
	"id":            "id",
}

// sortLink is a column header's link and its current state.
type sortLink struct {
	URL string
	Dir string // ascending, descending or "" (aria-sort)
}

// ListUsers is the user list: the filter of SPEC §2 as query parameters,
// a clear message (422) for a word it can't honour, never a 500.
func (h *Handler) ListUsers(c *fiber.Ctx) error {
	me := Me(c)
	f, errs := consoleFilter(c.Query, me)
	f.Sort = c.Query("sort", consoleSort)
	f.Page = queryInt(c, "page", 1)
	f.Limit = queryInt(c, "limit", models.DefaultLimit)
	for k, v := range f.Sanitize(models.DefaultLimit) {
		errs[k] = v
	}
	if errs["sort"] != "" {
		f.Sort = consoleSort
	}
	res, err := h.Users.ConsoleList(c.UserContext(), f)
	if err != nil {
		return err
	}
	if res.Total > 0 && f.Page > res.TotalPages() { // past the end: show the last page
		f.Page = res.TotalPages()
		if res, err = h.Users.ConsoleList(c.UserContext(), f); err != nil {
			return err
		}
	}
	q := filterQuery(f)
	rows, err := h.userRowsHTML(res.Items, me.IsAdmin())
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if len(errs) > 0 {
		status = fiber.StatusUnprocessableEntity
	}
	errList := errorList(errs)
	key := listKey(me, rows, q.Encode(), pageKey(res), strings.Join(errList, "\x00"))
	return h.render(c, tplAdminUsers, Page{Title: "Users", Status: status, ListKey: key, Data: fiber.Map{
		"Section":     "users",
		"Result":      res,
		"RowsHTML":    rows,
		"CanCreate":   models.Authorize(me, models.ActCreate, nil) == nil,
		"Filter":      f,
		"FilterLevel": levelText(f.Level),
		"CreatedFrom": dayText(f.CreatedFrom),
		"CreatedTo":   dayText(f.CreatedBefore.AddDate(0, 0, -1)),
		"Query":       q,
		"Errors":      errs,
		"ErrorList":   errList,
		"Sort":        sortLinks(q, f.Sort),
		"TypeTabs":    typeTabs(q, f.Type),
		"Window":      windowNote(res, "/admin/users", q, f.Sort),
		"ShowEmail":   me.IsAdmin(),
		"Types":       typeOptions,
		"Roles":       models.Roles,
		"Levels":      allLevels(),
		"PageSizes":   pageSizes,
		// partials/admin_bulk_forms
		"FilterFields":  filterFields(f),
		"BulkActions":   h.Users.BulkActionsFor(me),
		"GrantLevels":   models.GrantableLevels(me),
		"ExportColumns": exportColumnsFor(me),
	}})
}

// consoleFilter reads the user list's filter (search, type, role, level,
// created_from, created_to) through get (the query string, or a form's
// fields), with a message for each value it can't read. The bulk forms
// and the CSV export take the list's filter this way too.
func consoleFilter(get func(key string, def ...string) string, me *models.User) (models.Filter, map[string]string) {
	f, errs := models.FilterFields{Type: get("type"), Role: get("role"), Level: get("level"), Search: get("search"),
		Group: get("group"), CreatedFrom: get("created_from"), CreatedTo: get("created_to")}.Filter()
	f.NoEmailSearch = !me.IsAdmin()
	return f, errs
}

// filterQuery is the canonical query string of a filter, defaults left
// out, for bookmarkable page and sort links.
func filterQuery(f models.Filter) url.Values {
	q := url.Values{}
	if f.Search != "" {
		q.Set("search", f.Search)
	}
	if f.Type != "" && f.Type != "all" {
		q.Set("type", f.Type)
	}
	if f.Group != "" {
		q.Set("group", f.Group)
	}
	if f.Role != "" {
		q.Set("role", f.Role)
	}
	if f.Level != nil {
		q.Set("level", strconv.Itoa(*f.Level))
	}
	if !f.CreatedFrom.IsZero() {
		q.Set("created_from", dayText(f.CreatedFrom))
	}
	if !f.CreatedBefore.IsZero() {
		q.Set("created_to", dayText(f.CreatedBefore.AddDate(0, 0, -1)))
	}
	if f.Sort != consoleSort {
		q.Set("sort", f.Sort)
	}
	if f.Limit != models.DefaultLimit {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

// windowNote is what the console says in place of a page beyond the
// browse window (models.BrowseWindow): which pages aren't listed, and the
// link to the same filter sorted the other way, whose first pages are
// this order's last ones (nil when the page is listed).
func windowNote[T any](res models.Page[T], path string, q url.Values, sort string) fiber.Map {
	if !res.Beyond {
		return nil
	}
	from, to := res.Unlisted()
	note := fiber.Map{"From": from, "To": to, "Window": models.BrowseWindow, "AtLeast": res.AtLeast}
	if sort != "" && !res.AtLeast {
		v := url.Values{}
		for k, vals := range q {
			v[k] = vals
		}
		if rev := flipSort(sort); rev == consoleSort {
			v.Del("sort")
		} else {
			v.Set("sort", rev)
		}
		note["ReverseURL"] = pageURL(path, v, 1)
	}
	return note
}

// flipSort is a sort key in the other direction.
func flipSort(sort string) string {
	if strings.HasPrefix(sort, "-") {
		return sort[1:]
	}
	return "-" + sort
}

// sortLinks gives each sortable column the link that sorts by it (the
// other way round when it is the current sort), from page 1.
func sortLinks(q url.Values, current string) map[string]sortLink {
	out := make(map[string]sortLink, len(sortColumns))
	for col, first := range sortColumns {
		next, dir := first, ""
		switch current {
		case col:
			next, dir = "-"+col, "ascending"
		case "-" + col:
			next, dir = col, "descending"
		}
		v := url.Values{}
		for k, vals := range q {
			v[k] = vals
		}
		if next == consoleSort {
			v.Del("sort")
		} else {
			v.Set("sort", next)
		}
		link := "/admin/users"
		if enc := v.Encode(); enc != "" {
			link += "?" + enc
		}
		out[col] = sortLink{URL: link, Dir: dir}
	}
	return out
}

// typeTab is one of the list's quick filters by type: a link that keeps
// the rest of the filter.
type typeTab struct {
	Label, URL string
	Current    bool
}

// typeTabs are the type filters above the list, from page 1.
func typeTabs(q url.Values, current string) []typeTab {
	if current == "" {
		current = "all"
	}
	out := make([]typeTab, len(typeOptions))
	for i, o := range typeOptions {
		v := url.Values{}
		for k, vals := range q {
			v[k] = vals
		}
		v.Del("type")
		if o.Value != "all" {
			v.Set("type", o.Value)
		}
		link := "/admin/users"
		if enc := v.Encode(); enc != "" {
			link += "?" + enc
		}
		label := o.Label
		if o.Value == "all" {
			label = "All"
		}
		out[i] = typeTab{Label: label, URL: link, Current: o.Value == current}
	}
	return out
}

// ShowUser is an account's detail page: every field, its last visit and
// its history, and the actions the viewer may take.
func (h *Handler) ShowUser(c *fiber.Ctx) error {
	u, err := h.targetUser(c)
	if err != nil {
		return err
	}
	return h.userPage(c, u, userPageState{})
}

// userPageState carries what a failed form sent back to the detail page.
type userPageState struct {
	Status         int
	Form           fiber.Map
	VarRows        []varRow
	Errors         map[string]string
	PasswordErrors map[string]string
	PurgeError     string
	ConfirmDemote  bool // the edit lowers the viewer's own level: ask again
}

// userActions are the detail page's buttons, by models.Action, as the
// template looks them up (Can.ban, Can.set_password…).
var userActions = []models.Action{
	models.ActEdit, models.ActBan, models.ActUnban, models.ActDelete, models.ActRestore, models.ActPurge,
	models.ActSetPassword, models.ActSendReset, models.ActConfirm, models.ActRevokeSessions, models.ActResetMFA,
}

func (h *Handler) userPage(c *fiber.Ctx, u *models.User, st userPageState) error {
	me := Me(c)
	ctx := c.UserContext()
	events, err := h.Users.History(ctx, u.ID, queryInt(c, "page", 1), 20)
	if err != nil {
		return err
	}
	if !me.IsAdmin() {
		maskEvents(events.Items)
	}
	visit, err := h.Users.LastVisit(ctx, u.ID)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	can := make(map[string]bool, len(userActions))
	for _, a := range userActions {
		can[string(a)] = models.Can(me, a, u)
	}
	identities, err := h.Users.Identities(ctx, actor(c), u.ID)
	if err != nil {
		return err
	}
	otherWayIn, err := h.Users.SignsInWithoutIdentity(ctx, u)
	if err != nil {
		return err
	}
	passkeys, err := h.Users.Passkeys(ctx, u.ID)
	if err != nil {
		return err
	}
	sessions, err := h.userSessions(c, u)
	if err != nil {
		return err
	}
	currentID := int64(0)
	if cur := CurrentSession(c); cur != nil {
		currentID = cur.ID
	}
	if st.Form == nil {
		st.Form = userForm(u)
		st.VarRows = varRows(u.Var)
	}
	return h.render(c, tplAdminUser, Page{Title: u.Username, Status: st.Status, Data: fiber.Map{
		"Section":        "users",
		"User":           u,
		"ShowEmail":      models.CanSeeEmail(me, u),
		"ShowIP":         me.IsAdmin(),
		"Online":         h.Users.IsOnline(u),
		"LastVisit":      visit,
		"Can":            can,
		"Events":         events,
		"EventsQuery":    url.Values{},
		"EventsPath":     "/admin/users/" + strconv.FormatInt(u.ID, 10),
		"VarView":        varRows(u.Var),
		"Form":           st.Form,
		"VarRows":        append(st.VarRows, varRow{}, varRow{}, varRow{}),
		"Errors":         st.Errors,
		"PasswordErrors": st.PasswordErrors,
		"PurgeError":     st.PurgeError,
		"ConfirmDemote":  st.ConfirmDemote,
		"LevelOptions":   levelOptions(me, formLevel(st.Form, u.Level)),
		"Identities":     h.identityRows(identities),
		"OtherWayIn":     otherWayIn, // a password or passkey: the last identity may go
		"Passkeys":       len(passkeys),
		"Sessions":       sessions,
		"CurrentID":      currentID,
	}})
}

// formLevel is the level the edit form sent back (to keep it selected),
// or the account's own.
func formLevel(form fiber.Map, level int) int {
	if v, ok := form["level"].(string); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return level
}

// targetUser loads the account named by the :id parameter.
func (h *Handler) targetUser(c *fiber.Ctx) (*models.User, error) {
	id, err := paramID(c, "id")
	if err != nil {
		return nil, err
	}
	return h.Users.Get(c.UserContext(), id)
}

// ShowNewUser draws the form that creates an account.
func (h *Handler) ShowNewUser(c *fiber.Ctx) error {
	return h.newUserPage(c, fiber.StatusOK, fiber.Map{"level": strconv.Itoa(models.LevelUser)}, nil)
}

func (h *Handler) newUserPage(c *fiber.Ctx, status int, form fiber.Map, errs map[string]string) error {
	level, _ := strconv.Atoi(form["level"].(string))
	return h.render(c, tplAdminNewUser, Page{Title: "New account", Status: status, Data: fiber.Map{
		"Section":      "users",
		"Form":         form,
		"Errors":       errs,
		"LevelOptions": levelOptions(Me(c), level),
	}})
}

// CreateUser makes an account with a level the actor may grant.
func (h *Handler) CreateUser(c *fiber.Ctx) error {
	n := models.NewUser{
		Username: c.FormValue("username"),
		Email:    c.FormValue("email"),
		Name:     c.FormValue("name"),
		Password: c.FormValue("password"),
	}
	form := fiber.Map{"username": n.Username, "email": n.Email, "name": n.Name, "level": c.FormValue("level")}
	level, err := strconv.Atoi(strings.TrimSpace(c.FormValue("level")))
	if err != nil {
		return h.newUserPage(c, fiber.StatusUnprocessableEntity, form, map[string]string{"level": "Choose a level."})
	}
	n.Level = level
	u, err := h.Users.Create(c.UserContext(), actor(c), n)
	if fields, ok := fieldErrors(err); ok {
		return h.newUserPage(c, fiber.StatusUnprocessableEntity, form, fields)
	}
	if err != nil {
		return err
	}
	flash(c, "success", "The account "+u.Username+" is created.")
	return redirect(c, userURL(u.ID))
}

// SaveUser applies the detail page's edit form (admins, accounts below
// their level; the service checks).
func (h *Handler) SaveUser(c *fiber.Ctx) error {
	u, err := h.targetUser(c)
	if err != nil {
		return err
	}
	p, form, rows, errs := parseUserForm(c, u)
	// Lowering one's own level is allowed (a superadmin's own page) but
	// can lock one out of the console: the form asks first.
	demote := selfDemotion(Me(c), u, p.Level) && c.FormValue("confirm_demote") != "yes"
	if demote && errs["level"] == "" {
		errs["level"] = "This lowers your own level from " + strconv.Itoa(u.Level) + " (" + models.Role(u.Level) + ") to " +
			strconv.Itoa(*p.Level) + " (" + models.Role(*p.Level) + "). Tick the box below to confirm."
	}
	// One's own new address goes through the confirmation of /settings.
	newEmail := ""
	if me := Me(c); len(errs) == 0 && me.ID == u.ID && p.Email != nil && strings.TrimSpace(*p.Email) != u.EmailAddress() {
		newEmail, p.Email = strings.TrimSpace(*p.Email), nil
		if err := h.Users.CheckNewEmail(c.UserContext(), u, newEmail); err != nil {
			fields, ok := fieldErrors(err)
			if !ok {
				return err
			}
			errs = fields
		}
	}
	if len(errs) == 0 {
		_, err = h.Users.Update(c.UserContext(), actor(c), u.ID, p)
		if fields, ok := fieldErrors(err); ok {
			errs = fields
		} else if err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return h.userPage(c, u, userPageState{Status: fiber.StatusUnprocessableEntity, Form: form, VarRows: rows, Errors: errs, ConfirmDemote: demote})
	}
	if newEmail != "" {
		h.requestEmailChange(c, u, newEmail)
	}
	flash(c, "success", "The account "+u.Username+" is saved.")
	return redirect(c, userURL(u.ID))
}

// selfDemotion says whether an edit lowers the editor's own level.
func selfDemotion(me, u *models.User, level *int) bool {
	return me != nil && me.ID == u.ID && level != nil && *level < u.Level
}

// userRow is one line of the user list, formatted here so that the
// template only prints: template function calls on fifty rows were most
// of the page's cost.
type userRow struct {
	User      *models.User
	Online    bool
	Role      string // "user"
	TypeClass string // the badge's colour class
	TypeLabel string
	Seen      timeCell
	Created   timeCell
	LastLogin timeCell
}

// timeCell is a time as the list shows it: Text ("3 hours ago", "2 Jan
// 2026" or "never"), ISO for the datetime attribute ("" when never), Title
// the full date and time.
type timeCell struct {
	Text, ISO, Title string
}

var typeClasses = map[int]string{models.TypeActive: "badge-ok", models.TypeBanned: "badge-danger",
	models.TypeInactive: "badge-warn", models.TypeDeleted: "badge-muted"}

// rowCache keeps the user list's drawn rows: fifty rows are most of the
// page's drawing, and a search's page is shared from the console cache
// (the same Items slice) for a few seconds. An entry is found by that
// slice, the e-mail column and the minute ("3 minutes ago" stays right).
type rowCache struct {
	mu    sync.Mutex
	drawn map[rowKey]template.HTML
}

type rowKey struct {
	first     any // the first item's pointer: the list it comes from
	n         int
	showEmail bool
	minute    int64
}

// userRowsHTML draws the list's rows (partials/admin_user_rows), or
// returns them as drawn for the same accounts this minute.
func (h *Handler) userRowsHTML(us []models.User, showEmail bool) (template.HTML, error) {
	if len(us) == 0 {
		return "", nil
	}
	key := rowKey{first: &us[0], n: len(us), showEmail: showEmail, minute: time.Now().Unix() / 60}
	return h.drawnRows(key, "partials/admin_user_rows", func() fiber.Map {
		return fiber.Map{"Rows": h.userRows(us), "ShowEmail": showEmail}
	})
}

// eventRowsHTML draws the audit log's rows (partials/admin_event_rows), or
// returns them as drawn for the same events this minute (the page is
// shared from the console cache until the next event).
func (h *Handler) eventRowsHTML(es []models.Event) (template.HTML, error) {
	if len(es) == 0 {
		return "", nil
	}
	key := rowKey{first: &es[0], n: len(es), minute: time.Now().Unix() / 60}
	return h.drawnRows(key, "partials/admin_event_rows", func() fiber.Map { return fiber.Map{"Rows": es} })
}

// listSeed hashes a list page's rows into its key (listKey).
var listSeed = maphash.MakeSeed()

// listKey names everything a list page's content shows (Page.ListKey):
// the viewer's level (what they may do there), the parts the handler
// names (the filter, sort and page as its query says them, the page's
// total, the messages) and its drawn rows, hashed.
func listKey(me *models.User, rows template.HTML, parts ...string) string {
	return strconv.Itoa(me.Level) + "\x00" + strings.Join(parts, "\x00") + "\x00" +
		strconv.FormatUint(maphash.String(listSeed, string(rows)), 36)
}

// pageKey names what a page of a list says of itself besides its rows.
func pageKey[T any](p models.Page[T]) string {
	return fmt.Sprint(p.Total, p.AtLeast, p.Beyond, p.Page, p.Limit)
}

// drawnRows draws a list's rows with the partial name, or returns them as
// drawn for the same list (key).
func (h *Handler) drawnRows(key rowKey, name string, data func() fiber.Map) (template.HTML, error) {
	c := &h.rows
	if h.keepsDrawn() {
		c.mu.Lock()
		html, ok := c.drawn[key]
		c.mu.Unlock()
		if ok {
			return html, nil
		}
	}
	var buf bytes.Buffer
	if err := h.execute(&buf, name, data()); err != nil {
		return "", templateError(name, err)
	}
	html := template.HTML(buf.String()) //nolint:gosec // drawn by html/template above
	c.mu.Lock()
	if len(c.drawn) >= 64 || c.drawn == nil { // lists not from the cache are new slices each time
		c.drawn = map[rowKey]template.HTML{}
	}
	c.drawn[key] = html
	c.mu.Unlock()
	return html, nil
}

func (h *Handler) userRows(us []models.User) []userRow {
	rows := make([]userRow, len(us))
	for i := range us {
		u := &us[i]
		rows[i] = userRow{
			User: u, Online: h.Users.IsOnline(u), Role: u.Role(),
			TypeClass: typeClasses[u.Type], TypeLabel: u.TypeLabel(),
			Seen:      timeCell{Text: agoShort(u.LastSeenAt), ISO: isoTime(u.LastSeenAt), Title: formatDateTime(u.LastSeenAt)},
			Created:   timeCell{Text: formatDate(u.CreatedAt), ISO: isoTime(u.CreatedAt), Title: formatDateTime(u.CreatedAt)},
			LastLogin: timeCell{Text: agoShort(u.LastLoginAt), ISO: isoTime(u.LastLoginAt), Title: formatDateTime(u.LastLoginAt)},
		}
	}
	return rows
}

// userPtrs lets templates call the pointer methods of each account
// (DisplayName, Role…) also once handed to a partial.
func userPtrs(us []models.User) []*models.User {
	out := make([]*models.User, len(us))
	for i := range us {
		out[i] = &us[i]
	}
	return out
}

func userURL(id int64) string { return "/admin/users/" + strconv.FormatInt(id, 10) }

// levelOption is one choice of a level select.
type levelOption struct {
	Value    int
	Label    string
	Selected bool
}

// levelOptions are the levels viewer may grant, plus current (so that an
// unchanged level stays selected even when the viewer can't grant it).
func levelOptions(viewer *models.User, current int) []levelOption {
	var out []levelOption
	for l := 0; l <= models.MaxLevel; l++ {
		if l == current || models.CanGrant(viewer, l) {
			out = append(out, levelOption{Value: l, Label: strconv.Itoa(l) + " · " + models.Role(l), Selected: l == current})
		}
	}
	return out
}

func allLevels() []int {
	out := make([]int, models.MaxLevel+1)
	for i := range out {
		out[i] = i
	}
	return out
}

func levelText(l *int) string {
	if l == nil {
		return ""
	}
	return strconv.Itoa(*l)
}

// parseDay reads a YYYY-MM-DD date (UTC); "" is the zero time.
func parseDay(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse("2006-01-02", s)
}

func dayText(t time.Time) string {
	if t.IsZero() || t.Year() < 2 {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

// errorList is the messages of a field map, in a stable order, for a
// message box above a filter.
func errorList(errs map[string]string) []string {
	var out []string
	for _, k := range []string{"search", "type", "role", "level", "created_from", "created_to", "sort",
		"kind", "actor", "target", "action", "since", "until"} {
		if m, ok := errs[k]; ok {
			out = append(out, m)
		}
	}
	return out
}

var emailLike = regexp.MustCompile(`[^\s@=,;:<>()"']+@[^\s@=,;:<>()"']+`)

// maskEvents hides anything that looks like an e-mail address in event
// details, for viewers who may not see addresses.
func maskEvents(evs []models.Event) {
	for i := range evs {
		evs[i].Detail = emailLike.ReplaceAllString(evs[i].Detail, "(address hidden)")
	}
}
