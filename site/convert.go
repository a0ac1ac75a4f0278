package site

import (
	"math"
	"sort"
	"strconv"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/webmin/webmin/models"
)

// maxDepth bounds how deep a table is converted (and stops cycles).
const maxDepth = 32

// fromLua converts a Lua value for Go (views, JSON, the service): a table
// with keys 1…n is a list, any other table a map with string keys; a
// whole number is an int64. Functions and other values are left out.
func fromLua(v lua.LValue, depth int) any {
	switch v := v.(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		f := float64(v)
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f)
		}
		return f
	case lua.LBool:
		return bool(v)
	case *lua.LTable:
		if depth >= maxDepth {
			return nil
		}
		if n := v.Len(); n > 0 && countKeys(v) == n {
			list := make([]any, n)
			for i := 1; i <= n; i++ {
				list[i-1] = fromLua(v.RawGetInt(i), depth+1)
			}
			return list
		}
		m := map[string]any{}
		v.ForEach(func(k, val lua.LValue) {
			var key string
			switch k := k.(type) {
			case lua.LString:
				key = string(k)
			case lua.LNumber:
				key = k.String()
			default:
				return
			}
			if x := fromLua(val, depth+1); x != nil {
				m[key] = x
			}
		})
		return m
	}
	return nil
}

func countKeys(t *lua.LTable) int {
	n := 0
	t.ForEach(func(_, _ lua.LValue) { n++ })
	return n
}

// toLua converts a Go value (JSON-like) to Lua.
func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case nil:
		return lua.LNil
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case time.Time:
		return lua.LString(v.UTC().Format(time.RFC3339))
	case *time.Time:
		if v == nil {
			return lua.LNil
		}
		return lua.LString(v.UTC().Format(time.RFC3339))
	case []any:
		t := L.CreateTable(len(v), 0)
		for _, x := range v {
			t.Append(toLua(L, x))
		}
		return t
	case map[string]any:
		t := L.CreateTable(0, len(v))
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t.RawSetString(k, toLua(L, v[k]))
		}
		return t
	}
	return lua.LNil
}

// userTable is an account as a script sees it: the fields of the REST
// seed (id, username, email, level, role, type, type_label, is_online,
// points, created_at, last_login_at, avatar, var) plus name and group.
// email, and the private fields, only when the viewer may see them (the
// account itself, admins): a script run for a visitor doesn't get other
// people's addresses.
func (v *vm) userTable(viewer, u *models.User) *lua.LTable {
	L := v.L
	t := L.CreateTable(0, 20)
	t.RawSetString("id", lua.LNumber(u.ID))
	t.RawSetString("user_id", lua.LNumber(u.ID))
	t.RawSetString("username", lua.LString(u.Username))
	t.RawSetString("name", lua.LString(u.Name))
	t.RawSetString("display_name", lua.LString(u.DisplayName()))
	t.RawSetString("level", lua.LNumber(u.Level))
	t.RawSetString("role", lua.LString(u.Role()))
	t.RawSetString("type", lua.LNumber(u.Type))
	t.RawSetString("type_label", lua.LString(u.TypeLabel()))
	t.RawSetString("is_online", lua.LBool(v.r.users.IsOnline(u)))
	t.RawSetString("points", lua.LNumber(u.Points))
	t.RawSetString("created_at", toLua(L, u.CreatedAt))
	t.RawSetString("last_login_at", toLua(L, u.LastLoginAt))
	t.RawSetString("avatar", lua.LString(u.Avatar))
	t.RawSetString("group", lua.LString(u.Group))
	vars := L.CreateTable(0, len(u.Var))
	for k, x := range u.Var {
		vars.RawSetString(k, toLua(L, x))
	}
	t.RawSetString("var", vars)
	if models.CanSeeEmail(viewer, u) {
		if u.Email != nil {
			t.RawSetString("email", lua.LString(*u.Email))
		}
		t.RawSetString("updated_at", toLua(L, u.UpdatedAt))
		t.RawSetString("last_seen_at", toLua(L, u.LastSeenAt))
		t.RawSetString("email_verified_at", toLua(L, u.EmailVerifiedAt))
		t.RawSetString("login_count", lua.LNumber(u.LoginCount))
	}
	return t
}

func itoa(n int) string { return strconv.Itoa(n) }
