package models

import (
	"bufio"
	"context"
	"encoding/csv"
	"strconv"
	"strings"
	"time"
)

// CSV export of any filter of the user list, for staff: the accounts are
// read in id order, a batch at a time from the last id seen (keyset, never
// OFFSET), so that a million rows take constant memory and no long
// transaction; e-mail columns only for admins; text that a spreadsheet
// would take for a formula is defused.

// ExportColumn is a column the export can have.
type ExportColumn struct {
	Name    string // as asked for (columns=id,username) and in the header line
	Label   string // for the form
	Default bool   // ticked unless the viewer chooses
	Private bool   // e-mail: admins only
	text    bool   // user-written text: defused against formulas
	db      string // the column it is read from
	value   func(u *User) string
}

func exportTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ExportColumns are the columns of the export, in the order they come out.
var ExportColumns = []ExportColumn{
	{Name: "id", Label: "ID", Default: true, db: "id", value: func(u *User) string { return strconv.FormatInt(u.ID, 10) }},
	{Name: "username", Label: "Username", Default: true, text: true, db: "username", value: func(u *User) string { return u.Username }},
	{Name: "email", Label: "E-mail", Default: true, Private: true, text: true, db: "email", value: func(u *User) string { return u.EmailAddress() }},
	{Name: "name", Label: "Name", Default: true, text: true, db: "name", value: func(u *User) string { return u.Name }},
	{Name: "level", Label: "Level", db: "level", value: func(u *User) string { return strconv.Itoa(u.Level) }},
	{Name: "role", Label: "Role", Default: true, db: "level", value: func(u *User) string { return u.Role() }},
	{Name: "type", Label: "Type (number)", db: "type", value: func(u *User) string { return strconv.Itoa(u.Type) }},
	{Name: "type_label", Label: "Type", Default: true, db: "type", value: func(u *User) string { return u.TypeLabel() }},
	{Name: "points", Label: "Points", db: "points", value: func(u *User) string { return strconv.FormatInt(u.Points, 10) }},
	{Name: "group", Label: "Group", text: true, db: "group_name", value: func(u *User) string { return u.Group }},
	{Name: "avatar", Label: "Avatar", text: true, db: "avatar", value: func(u *User) string { return u.Avatar }},
	{Name: "created_at", Label: "Created", Default: true, db: "created_at", value: func(u *User) string { return exportTime(&u.CreatedAt) }},
	{Name: "updated_at", Label: "Updated", db: "updated_at", value: func(u *User) string { return exportTime(&u.UpdatedAt) }},
	{Name: "last_login_at", Label: "Last login", Default: true, db: "last_login_at", value: func(u *User) string { return exportTime(u.LastLoginAt) }},
	{Name: "last_seen_at", Label: "Last seen", db: "last_seen_at", value: func(u *User) string { return exportTime(u.LastSeenAt) }},
	{Name: "email_verified_at", Label: "E-mail confirmed", Private: true, db: "email_verified_at", value: func(u *User) string { return exportTime(u.EmailVerifiedAt) }},
	{Name: "login_count", Label: "Sign-ins", db: "login_count", value: func(u *User) string { return strconv.FormatInt(u.LoginCount, 10) }},
}

// ExportColumnsFor lists the columns viewer may export.
func ExportColumnsFor(viewer *User) []ExportColumn {
	var out []ExportColumn
	for _, c := range ExportColumns {
		if !c.Private || viewer == nil || viewer.IsAdmin() {
			out = append(out, c)
		}
	}
	return out
}

// Export is a checked export: its filter and columns.
type Export struct {
	filter Filter
	cols   []ExportColumn
}

// Header is the export's first line.
func (e *Export) Header() []string {
	out := make([]string, len(e.cols))
	for i, c := range e.cols {
		out[i] = c.Name
	}
	return out
}

// columns are the database columns the export reads: only those, since
// decoding the others (var is JSON) is most of the cost at a million rows.
func (e *Export) columns() []string {
	out := []string{"u.id"}
	seen := map[string]bool{"id": true}
	for _, c := range e.cols {
		if !seen[c.db] {
			seen[c.db] = true
			out = append(out, "u."+c.db)
		}
	}
	return out
}

// PlanExport checks an export before anything is sent: staff only, known
// columns (the defaults when none are named), e-mail columns only for
// admins, a filter the list can honour.
func (s *Service) PlanExport(viewer *User, f Filter, columns []string) (*Export, error) {
	if viewer != nil && !viewer.IsStaff() {
		return nil, denied("exporting accounts needs the %s role", Role(LevelModerator))
	}
	f.Sort, f.Page, f.Limit = "", 0, 0
	if viewer != nil && !viewer.IsAdmin() {
		f.NoEmailSearch = true
	}
	if err := f.Normalize(DefaultLimit); err != nil {
		return nil, err
	}
	e := &Export{filter: f}
	allowed := ExportColumnsFor(viewer)
	if len(columns) == 0 {
		for _, c := range allowed {
			if c.Default {
				e.cols = append(e.cols, c)
			}
		}
		return e, nil
	}
	seen := map[string]bool{}
	for _, name := range columns {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		col, ok := exportColumn(name)
		switch {
		case !ok:
			return nil, fieldError("columns", "Unknown column "+strconv.Quote(clip(name, 40))+"; use "+exportNames()+".")
		case col.Private && viewer != nil && !viewer.IsAdmin():
			return nil, denied("e-mail addresses are for admins")
		}
		e.cols = append(e.cols, col)
	}
	if len(e.cols) == 0 {
		return nil, fieldError("columns", "Choose at least one column.")
	}
	return e, nil
}

func exportColumn(name string) (ExportColumn, bool) {
	for _, c := range ExportColumns {
		if c.Name == name {
			return c, true
		}
	}
	return ExportColumn{}, false
}

func exportNames() string {
	names := make([]string, len(ExportColumns))
	for i, c := range ExportColumns {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// ExportTimeout bounds one download (a million rows take seconds).
const ExportTimeout = 10 * time.Minute

// exportBatch is how many accounts the export reads per query.
const exportBatch = 2000

// ExportUsers hands write one record per account of the export, in id
// order, and stops at write's first error.
func (s *Service) ExportUsers(ctx context.Context, e *Export, write func(record []string) error) error {
	batch := make([]User, 0, exportBatch)
	rec := make([]string, len(e.cols))
	var last int64
	for {
		clear(batch[:cap(batch)]) // nothing of the last batch may leak into this one
		batch = batch[:0]
		q := s.db.NewSelect().Model(&batch).Column(e.columns()...).Where("u.id > ?", last)
		s.applyFilter(q, e.filter)
		if err := q.OrderExpr("u.id").Limit(exportBatch).Scan(ctx); err != nil {
			return err
		}
		for i := range batch {
			u := &batch[i]
			for j, c := range e.cols {
				v := c.value(u)
				if c.text {
					v = DefuseFormula(v)
				}
				rec[j] = v
			}
			if err := write(rec); err != nil {
				return err
			}
		}
		if len(batch) < exportBatch {
			return nil
		}
		last = batch[len(batch)-1].ID
	}
}

// WriteCSV writes the export as CSV (a header line, then one line per
// account) to w, flushing every thousand lines so that the download
// starts at once and a client that went away stops it. It returns how
// many accounts it wrote.
func (s *Service) WriteCSV(ctx context.Context, e *Export, w *bufio.Writer) (int, error) {
	cw := csv.NewWriter(w)
	if err := cw.Write(e.Header()); err != nil {
		return 0, err
	}
	n := 0
	err := s.ExportUsers(ctx, e, func(rec []string) error {
		if err := cw.Write(rec); err != nil {
			return err
		}
		if n++; n%1000 == 0 {
			cw.Flush()
			return w.Flush()
		}
		return nil
	})
	cw.Flush()
	if err == nil {
		err = w.Flush()
	}
	return n, err
}

// DefuseFormula puts a ' before text that a spreadsheet would run as a
// formula (it starts with = + - @, a tab or a carriage return), so that
// it opens as the text it is (OWASP, "CSV injection").
func DefuseFormula(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
