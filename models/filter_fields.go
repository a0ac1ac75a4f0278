package models

import (
	"strconv"
	"strings"
	"time"
)

// FilterFields is the list's filter as the text a form, a query string or
// a JSON object sends: the console's list, bulk and export pages and the
// API's bulk and export read theirs through Filter, so that a filter
// means the same wherever it is typed.
type FilterFields struct {
	Type, Role, Level, Search, Group, CreatedFrom, CreatedTo string
}

// typeAliases lets the type filter take the seed's numbers and "banned"
// as well as the words of Types.
var typeAliases = map[string]string{"1": "active", "2": "blocked", "3": "inactive", "4": "deleted", "banned": "blocked"}

// TypeWord is the type filter's word for t (an alias made plain).
func TypeWord(t string) string {
	if w, ok := typeAliases[strings.ToLower(strings.TrimSpace(t))]; ok {
		return w
	}
	return t
}

// Filter reads the fields into a Filter: level a whole number; created_from
// and created_to a day (2026-01-31; created_to takes the whole day) or an
// RFC 3339 time (created_to then exclusive). Wrong fields are named in the
// map (empty when none); Normalize checks the rest (known type, role,
// level range).
func (ff FilterFields) Filter() (Filter, map[string]string) {
	f := Filter{Type: TypeWord(strings.TrimSpace(ff.Type)), Role: strings.TrimSpace(ff.Role), Search: ff.Search,
		Group: strings.TrimSpace(ff.Group)}
	errs := map[string]string{}
	if v := strings.TrimSpace(ff.Level); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			f.Level = &n
		} else {
			errs["level"] = "Level is a number from 0 to 10."
		}
	}
	var ok bool
	if f.CreatedFrom, ok = filterTime(ff.CreatedFrom, false); !ok {
		errs["created_from"] = msgFilterDate
	}
	if f.CreatedBefore, ok = filterTime(ff.CreatedTo, true); !ok {
		errs["created_to"] = msgFilterDate
	}
	return f, errs
}

const msgFilterDate = "Use a date like 2026-01-31 or a date-time like 2026-01-31T12:00:00Z."

// filterTime reads a day or an RFC 3339 time; a day as the end of a range
// means up to the end of that day.
func filterTime(s string, end bool) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, false
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, true
}
