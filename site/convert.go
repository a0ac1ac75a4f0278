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
		if uv := userOf(v); uv != nil {
			m := make(map[string]any, len(userFields))
			for _, k := range userFields {
				if k == "var" {
					m[k] = uv.u.Var // read only, by a view or the JSON encoder
				} else if x := fromLua(uv.field(nil, k), depth+1); x != nil {
					m[k] = x
				}
			}
			v.ForEach(func(k, val lua.LValue) { // what the script added or changed
				if ks, ok := k.(lua.LString); ok {
					m[string(ks)] = fromLua(val, depth+1)
				}
			})
			return m
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
// points, created_at, last_login_at, avatar, var) plus user_id, name,
// display_name and group. email, and the private fields (updated_at,
// last_seen_at, email_verified_at, login_count), only when the viewer may
// see them (the account itself, admins): a script run for a visitor
// doesn't get other people's addresses.
//
// The table is empty and its fields are read from the account when asked
// for (a metatable's __index), so that a list of fifty accounts costs
// fifty small tables, not a thousand fields; pairs, next, ctx:render and
// ctx:json see every field.
func (v *vm) userTable(viewer, u *models.User) *lua.LTable {
	L := v.L
	ud := L.NewUserData()
	ud.Value = &userView{u: u, viewer: viewer, online: v.r.users.IsOnline(u), email: models.CanSeeEmail(viewer, u)}
	mt := L.CreateTable(0, 2)
	mt.RawSetString("__index", v.userIndex)
	mt.RawSetString("__user", ud)
	t := L.CreateTable(0, 0)
	t.Metatable = mt
	return t
}

// userView is the account behind a user table, as its viewer may see it.
type userView struct {
	u, viewer *models.User
	online    bool
	email     bool // the viewer may see the address and the private fields
}

// userFields are the fields of a user table, in the order pairs gives them.
var userFields = []string{"id", "user_id", "username", "name", "display_name", "email", "level", "role", "type",
	"type_label", "is_online", "points", "created_at", "last_login_at", "avatar", "group", "var",
	"updated_at", "last_seen_at", "email_verified_at", "login_count"}

// field is one field of the account as a Lua value (nil when hidden or unset).
func (uv *userView) field(L *lua.LState, key string) lua.LValue {
	u := uv.u
	switch key {
	case "id", "user_id":
		return lua.LNumber(u.ID)
	case "username":
		return lua.LString(u.Username)
	case "name":
		return lua.LString(u.Name)
	case "display_name":
		return lua.LString(u.DisplayName())
	case "level":
		return lua.LNumber(u.Level)
	case "role":
		return lua.LString(u.Role())
	case "type":
		return lua.LNumber(u.Type)
	case "type_label":
		return lua.LString(u.TypeLabel())
	case "is_online":
		return lua.LBool(uv.online)
	case "points":
		return lua.LNumber(u.Points)
	case "created_at":
		return toLua(L, u.CreatedAt)
	case "last_login_at":
		return toLua(L, u.LastLoginAt)
	case "avatar":
		return lua.LString(u.Avatar)
	case "group":
		return lua.LString(u.Group)
	case "var":
		vars := L.CreateTable(0, len(u.Var))
		for k, x := range u.Var {
			vars.RawSetString(k, toLua(L, x))
		}
		return vars
	}
	if !uv.email {
		return lua.LNil
	}
	switch key {
	case "email":
		if u.Email != nil {
			return lua.LString(*u.Email)
		}
	case "updated_at":
		return toLua(L, u.UpdatedAt)
	case "last_seen_at":
		return toLua(L, u.LastSeenAt)
	case "email_verified_at":
		return toLua(L, u.EmailVerifiedAt)
	case "login_count":
		return lua.LNumber(u.LoginCount)
	}
	return lua.LNil
}

// userOf finds the account behind a user table, if t is one.
func userOf(t *lua.LTable) *userView {
	mt, ok := t.Metatable.(*lua.LTable)
	if !ok {
		return nil
	}
	ud, ok := mt.RawGetString("__user").(*lua.LUserData)
	if !ok {
		return nil
	}
	uv, _ := ud.Value.(*userView)
	return uv
}

// userIndexFn is the __index of user tables.
func userIndexFn(L *lua.LState) int {
	t := L.CheckTable(1)
	key, ok := L.Get(2).(lua.LString)
	if uv := userOf(t); uv != nil && ok {
		L.Push(uv.field(L, string(key)))
		return 1
	}
	L.Push(lua.LNil)
	return 1
}

// materialize copies a user table's fields into it, for pairs and next.
func materialize(L *lua.LState, t *lua.LTable) {
	uv := userOf(t)
	if uv == nil {
		return
	}
	for _, k := range userFields {
		if t.RawGetString(k) == lua.LNil {
			if val := uv.field(L, k); val != lua.LNil {
				t.RawSetString(k, val)
			}
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
