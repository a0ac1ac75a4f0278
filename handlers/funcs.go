package handlers

import (
	"errors"
	"fmt"
	"hash/fnv"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/webmin/webmin/models"
)

// TemplateFuncs are the functions every template may call. Each is
// documented in views/README.md for designers.
func TemplateFuncs() template.FuncMap {
	return template.FuncMap{
		"initials":    initials,
		"avatarColor": avatarColor,
		"role":        models.Role,
		"typeLabel":   models.TypeLabel,
		"date":        formatDate,
		"datetime":    formatDateTime,
		"ago":         ago,
		"agoShort":    agoShort,
		"number":      formatNumber,
		"add":         func(a, b int) int { return a + b },
		"sub":         func(a, b int) int { return a - b },
		"dict":        dict,
		"pageURL":     pageURL,
		"pages":       pageWindow,
		"isoTime":     isoTime,
		"deref":       deref,
		"device":      device,
		"eventText":   eventText,
		"placeText":   placeText,
		// The rules in words, as the service's errors say them.
		"usernameRule": func() string { return models.UsernameRule },
		"passwordRule": func() string { return models.PasswordRule },
	}
}

// initials are up to two letters for a generated avatar.
func initials(name string) string {
	var out []rune
	newWord := true
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if newWord && len(out) < 2 {
				out = append(out, unicode.ToUpper(r))
			}
			newWord = false
		} else {
			newWord = true
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// avatarColor picks one of 12 colour classes (avatar-c0 … avatar-c11) from a name.
func avatarColor(name string) int {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(name)))
	return int(h.Sum32() % 12)
}

func asTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, !t.IsZero()
	case *time.Time:
		if t == nil {
			return time.Time{}, false
		}
		return *t, !t.IsZero()
	}
	return time.Time{}, false
}

func formatDate(v any) string {
	if t, ok := asTime(v); ok {
		return t.UTC().Format("2 Jan 2006")
	}
	return "—"
}

func formatDateTime(v any) string {
	if t, ok := asTime(v); ok {
		return t.UTC().Format("2 Jan 2006 15:04 UTC")
	}
	return "—"
}

func isoTime(v any) string {
	if t, ok := asTime(v); ok {
		return t.UTC().Format(time.RFC3339)
	}
	return ""
}

// ago says how long ago a time was, in words ("never" for none).
func ago(v any) string {
	t, ok := asTime(v)
	if !ok {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 30*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	case d < 365*24*time.Hour:
		return plural(int(d/(30*24*time.Hour)), "month") + " ago"
	}
	return plural(int(d/(365*24*time.Hour)), "year") + " ago"
}

// agoShort is ago for a table cell: "now", "8 min", "3 h", "5 d",
// "4 mo", "2 y" ("never" for none); the cell's title has the full time.
func agoShort(v any) string {
	t, ok := asTime(v)
	if !ok {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min"
	case d < 24*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h"
	case d < 30*24*time.Hour:
		return strconv.Itoa(int(d/(24*time.Hour))) + " d"
	case d < 365*24*time.Hour:
		return strconv.Itoa(int(d/(30*24*time.Hour))) + " mo"
	}
	return strconv.Itoa(int(d/(365*24*time.Hour))) + " y"
}

// eventWords say an account's own history to its owner (the member
// dashboard); the console shows the codes.
var eventWords = map[string]string{
	models.EvSignup: "You created your account", models.EvLogin: "You signed in",
	models.EvLoginFailed: "A sign-in failed (wrong password)", models.EvLoginLocked: "Sign-in paused after too many failures",
	models.EvLogout: "You signed out", models.EvCreate: "An administrator created your account",
	models.EvUpdate: "An administrator changed your account", models.EvBan: "Your account was banned",
	models.EvUnban: "The ban on your account was lifted", models.EvDelete: "Your account was deleted",
	models.EvRestore: "Your account was restored", models.EvPassword: "An administrator set your password",
	models.EvPasswordChange: "You changed your password", models.EvSessionsRevoke: "Every session was signed out",
	models.EvConfirm: "Your e-mail address was confirmed", models.EvProfile: "You changed your profile",
	models.EvPasswordForgot: "A password reset link was asked for", models.EvEmailChangeRequest: "A new e-mail address waits for confirmation",
	models.EvEmailChange: "Your new e-mail address was confirmed", models.EvConfirmationRequest: "A confirmation link was asked for",
	models.EvMailSendReset: "An administrator sent you a reset link", models.EvMailResendConfirm: "An administrator resent your confirmation link",
}

// eventText is an event's action in words for its owner.
func eventText(action string) string {
	if w, ok := eventWords[action]; ok {
		return w
	}
	return "Account activity"
}

// placeText says where an event came from, for its owner: the address,
// or words for the command line and this machine.
func placeText(ip string) string {
	switch {
	case ip == "":
		return ""
	case ip == "cli":
		return "from the server's command line"
	case ip == "::1" || strings.HasPrefix(ip, "127."):
		return "from this server"
	}
	return "from " + ip
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return formatNumber(n) + " " + word + "s"
}

// formatNumber writes an integer with thousands separators.
func formatNumber(v any) string {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	default:
		return fmt.Sprint(v)
	}
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// dict builds a map from key/value pairs, to pass several values to a partial.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, errors.New("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, errors.New("dict: keys must be strings")
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// pageURL is path with the query q and the page parameter set to page,
// so that page links keep the filter.
func pageURL(path string, q url.Values, page int) string {
	v := url.Values{}
	for k, vals := range q {
		v[k] = append([]string(nil), vals...)
	}
	if page <= 1 {
		v.Del("page")
	} else {
		v.Set("page", strconv.Itoa(page))
	}
	if enc := v.Encode(); enc != "" {
		return path + "?" + enc
	}
	return path
}

// pageWindow lists the page numbers to link around the current one; 0
// stands for a gap ("…").
func pageWindow(current, total int) []int {
	if total <= 1 {
		return nil
	}
	// The first and last pages and two either side of the current one,
	// in order, without walking the 20,000 pages of a million accounts.
	candidates := []int{1, current - 2, current - 1, current, current + 1, current + 2, total}
	var out []int
	last := 0
	for _, p := range candidates {
		if p < 1 || p > total || p <= last {
			continue
		}
		if last != 0 && p != last+1 {
			out = append(out, 0)
		}
		out = append(out, p)
		last = p
	}
	return out
}

func deref(v any) any {
	switch x := v.(type) {
	case *string:
		if x == nil {
			return ""
		}
		return *x
	case *int64:
		if x == nil {
			return int64(0)
		}
		return *x
	}
	return v
}

// device names the browser and system of a user agent in a few words
// ("Firefox on Linux"), for the lists of sessions; "" when unknown.
func device(ua string) string {
	browser := ""
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chromium/", "Chromium"},
		{"HeadlessChrome/", "Chrome (headless)"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, s := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, s.token) {
			system = s.name
			break
		}
	}
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	}
	return system
}
