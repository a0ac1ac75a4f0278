package site

import (
	"errors"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/webmin/webmin/models"
)

// ScriptError is an error of a site script, with the file and line it
// happened at ("site/profile.lua:12"). The error page shows it in
// development; in production the page shows the request id and the log
// has the file and line.
type ScriptError struct {
	Where   string
	Message string
	Trace   string // the Lua stack, when the error happened in a call
	Timeout bool   // stopped by SITE_TIMEOUT
	Err     error  // the Go error behind it, if any
}

func (e *ScriptError) Error() string {
	if e.Where == "" {
		return e.Message
	}
	return e.Where + ": " + e.Message
}

// DeveloperDetail is what the error page shows in development.
func (e *ScriptError) DeveloperDetail() string {
	if e.Trace == "" {
		return e.Error()
	}
	return e.Error() + "\n" + e.Trace
}

func (e *ScriptError) Unwrap() error { return e.Err }

// luaWhere finds gopher-lua's "file:line: message".
var luaWhere = regexp.MustCompile(`(?s)^([^\s:]+:\d+):\s*(.*)$`)

// splitWhere separates "site/x.lua:3: message" into its place and message.
func splitWhere(msg string) (where, text string) {
	if m := luaWhere.FindStringSubmatch(msg); m != nil {
		return m[1], m[2]
	}
	return "", msg
}

// templateWhere finds html/template's "template: NAME:LINE[:COL]: message".
var templateWhere = regexp.MustCompile(`(?s)^template: ([^:]+):(\d+)(?::\d+)?: (.*)$`)

// viewError names the view file and line of a template error.
func viewError(dir string, err error) error {
	msg := err.Error()
	if m := templateWhere.FindStringSubmatch(msg); m != nil {
		return &ScriptError{Where: dir + "/views/" + m[1] + ".html:" + m[2], Message: m[3], Err: err}
	}
	return &ScriptError{Where: dir + "/views", Message: strings.TrimPrefix(msg, "template: "), Err: err}
}

// isTyped reports whether err is one of the service's typed errors, which
// the one error path turns into its page (404, 403, 409, 422, 429).
func isTyped(err error) bool {
	var de *models.DeniedError
	var ve *models.ValidationError
	var ce *models.ConflictError
	var le *models.LockedError
	return errors.Is(err, models.ErrNotFound) || errors.As(err, &de) || errors.As(err, &ve) ||
		errors.As(err, &ce) || errors.As(err, &le)
}

func scriptErrorOf(err error) *ScriptError {
	var se *ScriptError
	if errors.As(err, &se) {
		return se
	}
	return &ScriptError{Message: err.Error()}
}

// ErrorEntry is one recent script error, for the console.
type ErrorEntry struct {
	Time      time.Time
	Where     string
	Message   string
	RequestID string
	Path      string
}

// errorLog keeps the last errors of the scripts.
type errorLog struct {
	mu      sync.Mutex
	entries []ErrorEntry
}

const keepErrors = 50

func (l *errorLog) add(e *ScriptError, requestID, path string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, ErrorEntry{Time: time.Now(), Where: e.Where, Message: e.Message,
		RequestID: requestID, Path: path})
	if len(l.entries) > keepErrors {
		l.entries = l.entries[len(l.entries)-keepErrors:]
	}
}

// list is newest first.
func (l *errorLog) list() []ErrorEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]ErrorEntry, len(l.entries))
	for i, e := range l.entries {
		out[len(out)-1-i] = e
	}
	return out
}
