package models

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
)

// Limits of SPEC §1.
const (
	MaxVarKeys      = 50
	MaxVarKeyLen    = 64
	MaxVarStringLen = 1024
	MinPasswordLen  = 8
	MaxPasswordLen  = 256
)

var (
	validate      = newValidator()
	usernameChars = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]*$`)
	allDigits     = regexp.MustCompile(`^[0-9]+$`)
)

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	_ = v.RegisterValidation("username", func(fl validator.FieldLevel) bool {
		s := fl.Field().String()
		return usernameChars.MatchString(s) && !allDigits.MatchString(s)
	})
	_ = v.RegisterValidation("weburl", func(fl validator.FieldLevel) bool {
		u, err := url.Parse(fl.Field().String())
		return err == nil && u.Scheme == "https" && u.Host != "" // the pages' CSP loads images over https only
	})
	return v
}

// reservedUsernames are the words of the routes beside /users/:id (the
// API's GET /api/v1/users/export.csv and /users/bulk/…, the console's
// /admin/users/new, bulk and export.csv): an account named so could be
// looked up by id only, so no new account or new name takes one
// (docs/api.md). Accounts that already have one keep it.
var reservedUsernames = map[string]bool{"bulk": true, "export.csv": true, "new": true}

func reservedUsername(name string) bool {
	return reservedUsernames[strings.ToLower(strings.TrimSpace(name))]
}

const msgUsernameReserved = "That name is one of the site's own addresses. Choose another."

// UsernameRule and PasswordRule say the rules in words, the same in every
// form's hint and error.
const (
	UsernameRule = "3–30 letters, digits, _ . and -, starting with a letter or digit, not only digits"
	PasswordRule = "At least 8 characters"
)

// field rules, checked one value at a time so each error names its field.
var rules = map[string]string{
	"username": "required,min=3,max=30,username",
	"email":    "omitempty,max=254,email",
	"name":     "max=100",
	"password": fmt.Sprintf("required,min=%d,max=%d", MinPasswordLen, MaxPasswordLen),
	"avatar":   "omitempty,max=500,weburl",
	"group":    "max=64",
	"level":    "min=0,max=10",
	"type":     "min=1,max=4",
}

// messages explains a failed rule to a person.
func message(field string, fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "This field is required."
	case "min":
		if field == "level" || field == "type" {
			return "Must be at least " + fe.Param() + "."
		}
		return "Must be at least " + fe.Param() + " characters."
	case "max":
		if field == "level" || field == "type" {
			return "Must be at most " + fe.Param() + "."
		}
		return "Must be at most " + fe.Param() + " characters."
	case "username":
		return "Use " + UsernameRule + "."
	case "email":
		return "Enter a valid e-mail address."
	case "weburl":
		return "Enter an https:// address (pictures load over https only)."
	}
	return "Invalid value."
}

// checker collects field errors.
type checker map[string]string

func (c checker) check(field string, value any) {
	if _, done := c[field]; done {
		return
	}
	if s, ok := value.(string); ok && !textOK(s) {
		c[field] = "Contains invalid characters."
		return
	}
	if err := validate.Var(value, rules[field]); err != nil {
		if errs, ok := err.(validator.ValidationErrors); ok && len(errs) > 0 {
			c[field] = message(field, errs[0])
			return
		}
		c[field] = "Invalid value."
	}
}

func (c checker) add(field, msg string) {
	if _, done := c[field]; !done {
		c[field] = msg
	}
}

func (c checker) err() error {
	if len(c) == 0 {
		return nil
	}
	return &ValidationError{Fields: c}
}

// checkVar validates custom metadata: at most MaxVarKeys keys of at most
// MaxVarKeyLen characters, with string, number or boolean values (nil too
// when allowNull, meaning "remove this key").
func checkVar(c checker, v map[string]any, allowNull bool) {
	if len(v) > MaxVarKeys {
		c.add("var", fmt.Sprintf("At most %d keys.", MaxVarKeys))
		return
	}
	for k, val := range v {
		if k == "" || utf8.RuneCountInString(k) > MaxVarKeyLen || !utf8.ValidString(k) {
			c.add("var", fmt.Sprintf("Keys must be 1 to %d characters.", MaxVarKeyLen))
			return
		}
		switch x := val.(type) {
		case nil:
			if !allowNull {
				c.add("var", fmt.Sprintf("%q: null is only allowed in an update, to remove the key.", k))
				return
			}
		case string:
			if utf8.RuneCountInString(x) > MaxVarStringLen || !utf8.ValidString(x) {
				c.add("var", fmt.Sprintf("%q: text values are at most %d characters.", k, MaxVarStringLen))
				return
			}
		case bool:
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				c.add("var", fmt.Sprintf("%q: not a finite number.", k))
				return
			}
		case int, int64, int32, float32, json.Number:
		default:
			c.add("var", fmt.Sprintf("%q: values must be text, numbers or true/false.", k))
			return
		}
	}
}

// textOK reports whether s is valid UTF-8 without NUL bytes (which
// PostgreSQL refuses in text and no person types).
func textOK(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// normalize trims the user-typed text fields.
func normalize(s string) string { return strings.TrimSpace(stripBidi(s)) }

// stripBidi removes the invisible characters that reorder text (U+061C,
// U+200E, U+200F, U+202A–U+202E, U+2066–U+2069): in a name they make
// "nimda" read as "admin", and they have no use in the fields of an account.
func stripBidi(s string) string {
	if !strings.ContainsFunc(s, isBidiControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isBidiControl(r) {
			return -1
		}
		return r
	}, s)
}

func isBidiControl(r rune) bool {
	return r == 0x061C || r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}
