package handlers

import (
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// The edit form of the console's detail page: plain fields plus `var` as
// key/value rows (var_key, var_value, repeated). A value is read as JSON
// when it is a JSON number, true/false or a "quoted string", otherwise as
// text; an empty value or null removes the key, and so does a row whose
// key was cleared.

// varRow is one key/value row of the var editor.
type varRow struct {
	Key   string
	Value string
}

// userForm is the edit form filled from the account.
func userForm(u *models.User) fiber.Map {
	return fiber.Map{
		"username": u.Username, "email": u.EmailAddress(), "name": u.Name,
		"level": strconv.Itoa(u.Level), "points": strconv.FormatInt(u.Points, 10),
		"avatar": u.Avatar, "group": u.Group,
	}
}

// varRows lists the metadata as rows, keys in order.
func varRows(v map[string]any) []varRow {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rows := make([]varRow, len(keys))
	for i, k := range keys {
		rows[i] = varRow{Key: k, Value: formatVar(v[k])}
	}
	return rows
}

// formatVar writes a value so that parseVar reads it back as the same
// value: text that would read as JSON (or is empty) is quoted.
func formatVar(v any) string {
	switch x := v.(type) {
	case string:
		if x == "" || json.Valid([]byte(x)) {
			b, _ := json.Marshal(x)
			return string(b)
		}
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// parseVar reads one value; nil means "remove the key".
func parseVar(raw string) any {
	s := strings.TrimSpace(raw)
	if s == "" || s == "null" {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err == nil {
		switch v.(type) {
		case string, bool, float64:
			return v
		}
	}
	return raw
}

// parseUserForm reads the edit form into a Patch. It also returns the
// form as sent (to re-render it) and the errors found before the service
// is asked (numbers that aren't, var rows without a key).
func parseUserForm(c *fiber.Ctx, u *models.User) (models.Patch, fiber.Map, []varRow, map[string]string) {
	errs := map[string]string{}
	form := fiber.Map{}
	str := func(name string) *string {
		v := c.FormValue(name)
		form[name] = v
		return &v
	}
	p := models.Patch{
		Username: str("username"),
		Name:     str("name"),
		Avatar:   str("avatar"),
		Group:    str("group"),
	}
	if models.CanSeeEmail(Me(c), u) {
		p.Email = str("email")
	}
	level := strings.TrimSpace(c.FormValue("level"))
	form["level"] = level
	if n, err := strconv.Atoi(level); err == nil {
		p.Level = &n
	} else {
		errs["level"] = "Choose a level."
	}
	points := strings.TrimSpace(c.FormValue("points"))
	form["points"] = points
	if points != "" {
		if n, err := strconv.ParseInt(points, 10, 64); err == nil {
			p.Points = &n
		} else {
			errs["points"] = "Points are a whole number."
		}
	}

	args := c.Request().PostArgs()
	keys, values := args.PeekMulti("var_key"), args.PeekMulti("var_value")
	var rows []varRow
	sent := map[string]any{}
	for i, kb := range keys {
		key := strings.TrimSpace(string(kb))
		val := ""
		if i < len(values) {
			val = string(values[i])
		}
		if key == "" && strings.TrimSpace(val) == "" {
			continue
		}
		rows = append(rows, varRow{Key: key, Value: val})
		if key == "" {
			errs["var"] = "Each value needs a key."
			continue
		}
		if _, dup := sent[key]; dup {
			errs["var"] = "The key " + strconv.Quote(key) + " appears twice."
			continue
		}
		sent[key] = parseVar(val)
	}
	p.Var = varPatch(u.Var, sent)
	return p, form, rows, errs
}

// varPatch is the smallest change from cur to the rows sent: changed
// and new keys, and nil for keys removed or left out.
func varPatch(cur, sent map[string]any) map[string]any {
	patch := map[string]any{}
	for k := range cur {
		if _, ok := sent[k]; !ok {
			patch[k] = nil
		}
	}
	for k, v := range sent {
		old, had := cur[k]
		switch {
		case v == nil && had:
			patch[k] = nil
		case v != nil && (!had || !reflect.DeepEqual(old, v)):
			patch[k] = v
		}
	}
	if len(patch) == 0 {
		return nil
	}
	return patch
}
