package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// The JSON API's shapes (SPEC §5): one object is {"data": {...}, "meta"},
// a list adds "pagination", an error is {"error": {code, message, fields},
// "meta"} (see writeError in errors.go, where every error ends up).

// defaultLimit is the page size of the API's lists when none is asked for.
const defaultLimit = 20

// apiPagination is the "pagination" object of a list.
type apiPagination struct {
	Page       int  `json:"page"`
	Limit      int  `json:"limit"`
	TotalItems int  `json:"totalItems"`
	TotalPages int  `json:"totalPages"`
	HasNext    bool `json:"hasNext"`
	HasPrev    bool `json:"hasPrev"`
	// TotalIsLowerBound: the search matched more than totalItems accounts
	// and counting stopped there (models.Page.AtLeast).
	TotalIsLowerBound bool `json:"totalIsLowerBound,omitempty"`
}

// Time is a moment as the API writes it: RFC 3339 in UTC, with the
// fraction of a second when there is one (what time.Time's own JSON is).
// It encodes as text: a JSON encoder re-reads what a MarshalJSON method
// returns, to check and compact it, and for time.Time that was a quarter
// of the work of writing a page of 50 accounts.
type Time time.Time

// MarshalText is time.Time's: RFC 3339 with nanoseconds, an error for a
// year outside 0–9999.
func (t Time) MarshalText() ([]byte, error) { return time.Time(t).MarshalText() }

// at is t as the API shows it.
func at(t time.Time) Time { return Time(t.UTC()) }

// atOrNull is at for a moment that may be missing (null).
func atOrNull(t *time.Time) *Time {
	if t == nil {
		return nil
	}
	v := at(*t)
	return &v
}

// metaBody is the "meta" object of every answer.
type metaBody struct {
	RequestID string `json:"requestId"`
	Timestamp string `json:"timestamp"`
}

func metaOf(c *fiber.Ctx) metaBody {
	return metaBody{RequestID: requestID(c), Timestamp: time.Now().UTC().Format(time.RFC3339)}
}

type oneBody[O any] struct {
	Data O        `json:"data"`
	Meta metaBody `json:"meta"`
}

type listBody[O any] struct {
	Data       []O           `json:"data"`
	Pagination apiPagination `json:"pagination"`
	Meta       metaBody      `json:"meta"`
}

// one answers one object.
func one[O any](c *fiber.Ctx, status int, data O) error {
	return writeJSON(c, status, oneBody[O]{Data: data, Meta: metaOf(c)})
}

// writeJSON answers v as JSON with status. It encodes straight into the
// response's body buffer, which fasthttp reuses from request to request:
// json.Marshal (Fiber's c.JSON) makes each body anew, 20 KB for a page of
// 50 accounts, and that garbage set the pace of the collector under load.
func writeJSON(c *fiber.Ctx, status int, v any) error {
	c.Status(status).Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Response().ResetBody()
	return json.NewEncoder(c.Response().BodyWriter()).Encode(v)
}

// list answers one page of a list, each item drawn by show.
func list[T, O any](c *fiber.Ctx, p models.Page[T], show func(*T) O) error {
	data := make([]O, len(p.Items))
	for i := range p.Items {
		data[i] = show(&p.Items[i])
	}
	return writeJSON(c, http.StatusOK, listBody[O]{
		Data: data,
		Pagination: apiPagination{Page: p.Page, Limit: p.Limit, TotalItems: p.Total,
			TotalPages: p.TotalPages(), HasNext: p.HasNext(), HasPrev: p.HasPrev(), TotalIsLowerBound: p.AtLeast},
		Meta: metaOf(c),
	})
}

// jsonBody is a request's JSON object, read one field at a time so that a
// field left out is told apart from one sent as null, and so that each
// wrong value is named in a 422. Fields nobody asked for are refused.
type jsonBody struct {
	raw  map[string]json.RawMessage
	used map[string]bool
	errs map[string]string
}

// readJSONObject reads the body as a JSON object: a wrong Content-Type,
// an empty body, malformed JSON or anything but an object is a 400.
func readJSONObject(c *fiber.Ctx) (*jsonBody, error) {
	ct := c.Get(fiber.HeaderContentType)
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != fiber.MIMEApplicationJSON {
		if ct == "" {
			ct = "none"
		}
		return nil, badRequest("Send the body as JSON with Content-Type: application/json (got " + clipText(ct, 60) + ").")
	}
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 {
		return nil, badRequest("The body is empty; send a JSON object.")
	}
	if body[0] != '{' {
		return nil, badRequest("The body must be a JSON object, like {\"name\": \"…\"}.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, badRequest("The body is not valid JSON: " + se.Error() + " (at byte " + strconv.FormatInt(se.Offset, 10) + ").")
		}
		return nil, badRequest("The body is not valid JSON: it ends too early.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("The body has more after its JSON object; send one object.")
	}
	return &jsonBody{raw: raw, used: map[string]bool{}, errs: map[string]string{}}, nil
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// take returns a field's raw value and marks it as understood.
func (b *jsonBody) take(name string) (json.RawMessage, bool) {
	b.used[name] = true
	v, ok := b.raw[name]
	return v, ok
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// text reads a string field: nil when absent. null is "" when clearable
// (optional fields such as email or avatar), and refused otherwise.
func (b *jsonBody) text(name string, clearable bool) *string {
	v, ok := b.take(name)
	if !ok {
		return nil
	}
	if isNull(v) {
		if clearable {
			return new(string)
		}
		b.errs[name] = "Must be text, not null."
		return nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		b.errs[name] = "Must be text."
		return nil
	}
	return &s
}

// integer reads a whole-number field: nil when absent.
func (b *jsonBody) integer(name string) *int64 {
	v, ok := b.take(name)
	if !ok {
		return nil
	}
	s := string(bytes.TrimSpace(v))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// 5.0 or 5e1 are whole numbers too.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 || strings.HasPrefix(s, `"`) {
			b.errs[name] = "Must be a whole number."
			return nil
		}
		n = int64(f)
	}
	return &n
}

// small reads a whole-number field that fits an int (a level, a type).
func (b *jsonBody) small(name string) *int {
	n := b.integer(name)
	if n == nil {
		return nil
	}
	if *n < math.MinInt32 || *n > math.MaxInt32 {
		b.errs[name] = "Out of range."
		return nil
	}
	v := int(*n)
	return &v
}

// object reads a JSON object field (var): nil when absent.
func (b *jsonBody) object(name string) map[string]any {
	v, ok := b.take(name)
	if !ok {
		return nil
	}
	var m map[string]any
	if isNull(v) || json.Unmarshal(v, &m) != nil {
		b.errs[name] = "Must be an object of keys with text, number or true/false values (null removes a key)."
		return nil
	}
	return m
}

// done reports the fields that were wrong or not understood, as a 422.
func (b *jsonBody) done() error {
	var unknown []string
	for k := range b.raw {
		if !b.used[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for i, k := range unknown {
		if i == 10 {
			break
		}
		b.errs[clipText(k, 64)] = "Unknown or read-only field."
	}
	if len(b.errs) == 0 {
		return nil
	}
	return &models.ValidationError{Fields: b.errs}
}

// apiQuery reads query parameters, naming each bad one.
type apiQuery struct {
	c    *fiber.Ctx
	errs map[string]string
}

func (q *apiQuery) text(name string) string { return strings.TrimSpace(q.c.Query(name)) }

// integer reads a whole number of at least lo, or def when absent.
func (q *apiQuery) integer(name string, def, lo int) int {
	s := q.text(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		q.errs[name] = "Must be a whole number."
		return def
	}
	if n < lo {
		q.errs[name] = "Must be at least " + strconv.Itoa(lo) + "."
		return def
	}
	return n
}

func (q *apiQuery) err() error {
	if len(q.errs) == 0 {
		return nil
	}
	return &models.ValidationError{Fields: q.errs}
}
