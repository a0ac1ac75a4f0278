package site

import (
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// validator(input, rules) checks a table of input (usually req.post)
// against rule strings such as "required|string|min:3|max:30":
//
//	required, nullable, string, numeric (or number), integer, boolean,
//	email, url, alpha, alpha_num, alpha_dash, min:N, max:N, between:A,B,
//	size:N, in:a,b,…, not_in:a,b,…, same:field, confirmed (field_confirmation)
//
// min, max, between and size count characters for text and compare the
// value for numeric fields. Fields are checked in the order the rules
// table lists them; v:first() is the first message in that order.
func (v *vm) newValidator(L *lua.LState) int {
	input := L.OptTable(1, L.CreateTable(0, 0))
	rules := L.CheckTable(2)
	valid := L.CreateTable(0, 0)
	errs := L.CreateTable(0, 0)
	var first lua.LValue = lua.LNil
	count := 0
	for k, r := L.Next(rules, lua.LNil); k != lua.LNil; k, r = L.Next(rules, k) {
		field, ok := k.(lua.LString)
		if !ok {
			continue
		}
		spec, ok := r.(lua.LString)
		if !ok {
			L.ArgError(2, "the rules of "+string(field)+" are a string such as \"required|string|max:30\"")
		}
		val := input.RawGetString(string(field))
		out, msg, err := checkField(string(field), val, string(spec), input)
		if err != "" {
			L.ArgError(2, string(field)+": "+err)
		}
		if msg != "" {
			errs.RawSetString(string(field), lua.LString(msg))
			if first == lua.LNil {
				first = lua.LString(msg)
			}
			count++
			continue
		}
		if out != lua.LNil {
			valid.RawSetString(string(field), out)
		}
	}
	obj := L.CreateTable(0, 0)
	fails := count > 0
	method := func(fn func(L *lua.LState) int) *lua.LFunction { return L.NewFunction(fn) }
	obj.RawSetString("fails", method(func(L *lua.LState) int { L.Push(lua.LBool(fails)); return 1 }))
	obj.RawSetString("passes", method(func(L *lua.LState) int { L.Push(lua.LBool(!fails)); return 1 }))
	obj.RawSetString("first", method(func(L *lua.LState) int { L.Push(first); return 1 }))
	obj.RawSetString("valid", method(func(L *lua.LState) int { L.Push(valid); return 1 }))
	obj.RawSetString("errors", method(func(L *lua.LState) int { L.Push(errs); return 1 }))
	L.Push(obj)
	return 1
}

// checkField applies one field's rules. It returns the value to keep (a
// number for numeric fields), the message of the first rule that failed,
// or a mistake in the rules themselves.
func checkField(field string, val lua.LValue, spec string, input *lua.LTable) (out lua.LValue, msg, ruleErr string) {
	label := strings.ReplaceAll(field, "_", " ")
	rules := strings.Split(spec, "|")
	has := func(name string) bool {
		for _, r := range rules {
			if r == name {
				return true
			}
		}
		return false
	}
	numeric := has("numeric") || has("number") || has("integer")
	var text string
	present := false
	switch x := val.(type) {
	case lua.LString:
		text = string(x) // kept as sent: a password's spaces count
		present = strings.TrimSpace(text) != ""
	case lua.LNumber:
		text = x.String()
		present = true
	case lua.LBool:
		text = strconv.FormatBool(bool(x))
		present = true
	case *lua.LTable:
		present = true
	}
	if !present {
		if has("required") {
			return lua.LNil, "The " + label + " field is required.", ""
		}
		return lua.LNil, "", "" // optional and absent: nothing to check
	}
	out = val
	var num float64
	if numeric {
		n, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return lua.LNil, "The " + label + " must be a number.", ""
		}
		num, out = n, lua.LNumber(n)
	}
	length := utf8.RuneCountInString(text)
	size := func(arg string) (float64, string) {
		n, err := strconv.ParseFloat(arg, 64)
		if err != nil {
			return 0, "a size is a number"
		}
		return n, ""
	}
	for _, rule := range rules {
		name, arg, _ := strings.Cut(strings.TrimSpace(rule), ":")
		switch name {
		case "", "required", "nullable", "sometimes":
		case "string":
			if _, ok := val.(lua.LString); !ok {
				return lua.LNil, "The " + label + " must be text.", ""
			}
		case "numeric", "number":
		case "integer":
			if num != float64(int64(num)) {
				return lua.LNil, "The " + label + " must be a whole number.", ""
			}
		case "boolean":
			switch strings.ToLower(text) {
			case "1", "true", "on", "yes":
				out = lua.LTrue
			case "0", "false", "off", "no":
				out = lua.LFalse
			default:
				return lua.LNil, "The " + label + " must be yes or no.", ""
			}
		case "email":
			a, err := mail.ParseAddress(text)
			if err != nil || a.Address != text || !strings.Contains(text[strings.LastIndexByte(text, '@')+1:], ".") {
				return lua.LNil, "The " + label + " must be a valid e-mail address.", ""
			}
		case "url":
			u, err := url.Parse(text)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return lua.LNil, "The " + label + " must be a web address (http:// or https://).", ""
			}
		case "alpha", "alpha_num", "alpha_dash":
			for _, r := range text {
				ok := unicode.IsLetter(r) || (name != "alpha" && unicode.IsDigit(r)) || (name == "alpha_dash" && (r == '-' || r == '_'))
				if !ok {
					what := map[string]string{"alpha": "letters", "alpha_num": "letters and digits",
						"alpha_dash": "letters, digits, dashes and underscores"}[name]
					return lua.LNil, "The " + label + " may only contain " + what + ".", ""
				}
			}
		case "min", "max", "size":
			n, bad := size(arg)
			if bad != "" {
				return lua.LNil, "", name + ": " + bad
			}
			got := float64(length)
			if numeric {
				got = num
			}
			unit := " characters"
			if numeric {
				unit = ""
			}
			switch {
			case name == "min" && got < n:
				return lua.LNil, "The " + label + " must be at least " + arg + unit + ".", ""
			case name == "max" && got > n:
				if numeric {
					return lua.LNil, "The " + label + " may not be greater than " + arg + ".", ""
				}
				return lua.LNil, "The " + label + " may not be longer than " + arg + " characters.", ""
			case name == "size" && got != n:
				return lua.LNil, "The " + label + " must be " + arg + unit + ".", ""
			}
		case "between":
			lo, hi, ok := strings.Cut(arg, ",")
			a, bad1 := size(lo)
			b, bad2 := size(hi)
			if !ok || bad1 != "" || bad2 != "" {
				return lua.LNil, "", "between takes two numbers: between:3,30"
			}
			got := float64(length)
			if numeric {
				got = num
			}
			if got < a || got > b {
				if numeric {
					return lua.LNil, "The " + label + " must be between " + lo + " and " + hi + ".", ""
				}
				return lua.LNil, "The " + label + " must be between " + lo + " and " + hi + " characters.", ""
			}
		case "in", "not_in":
			found := false
			for _, opt := range strings.Split(arg, ",") {
				if opt == text {
					found = true
				}
			}
			if found != (name == "in") {
				return lua.LNil, "The selected " + label + " is not valid.", ""
			}
		case "same", "confirmed":
			other := arg
			if name == "confirmed" {
				other = field + "_confirmation"
			}
			if lua.LVAsString(input.RawGetString(other)) != lua.LVAsString(val) {
				if name == "confirmed" {
					return lua.LNil, "The " + label + " confirmation does not match.", ""
				}
				return lua.LNil, "The " + label + " and " + strings.ReplaceAll(other, "_", " ") + " must match.", ""
			}
		default:
			return lua.LNil, "", "unknown rule " + name
		}
	}
	return out, "", ""
}
