package site

import (
	"reflect"
	"testing"
)

func TestRouteMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		ok            bool
		params        map[string]string
	}{
		{"/", "/", true, nil},
		{"/", "", true, nil},
		{"/", "/x", false, nil},
		{"/profile/:username", "/profile/alice", true, map[string]string{"username": "alice"}},
		{"/profile/:username", "/Profile/alice/", true, map[string]string{"username": "alice"}},
		{"/profile/:username", "/profile", false, nil},
		{"/profile/:username", "/profile/alice/x", false, nil},
		{"/profile/:username", "/profile/a%20b", true, map[string]string{"username": "a b"}},
		{"/hello/:name?", "/hello", true, map[string]string{"name": ""}},
		{"/hello/:name?", "/hello/bob", true, map[string]string{"name": "bob"}},
		{"/files/*", "/files", true, map[string]string{"*": ""}},
		{"/files/*", "/files/a/b", true, map[string]string{"*": "a/b"}},
		{"/files/+", "/files", false, nil},
		{"/files/+", "/files/a", true, map[string]string{"+": "a"}},
		{"/a/:x/b/:y", "/a/1/b/2", true, map[string]string{"x": "1", "y": "2"}},
		{"/a/:x/b/:y", "/a/1/c/2", false, nil},
	} {
		segs, err := parsePattern(tc.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		rt := &route{Pattern: tc.pattern, segs: segs}
		params, ok := rt.match(tc.path)
		if ok != tc.ok || (ok && !reflect.DeepEqual(params, tc.params)) {
			t.Errorf("%s on %q: %v %v, want %v %v", tc.pattern, tc.path, ok, params, tc.ok, tc.params)
		}
	}
}

func TestRoutePatternRefused(t *testing.T) {
	for _, p := range []string{"profile", "/a/*/b", "/:x?/y", "/a//b", "/:", "/a?b",
		// Fiber reads these inside the segment; whole segments can't.
		"/:from-:to", "/:a-b", "/:file.json", "/x-:y", "/:id<int>", "/a\\:b", "/*1", "/files/*.txt", "/:x?y"} {
		if _, err := parsePattern(p); err == nil {
			t.Errorf("%q was accepted", p)
		}
	}
}

func TestReserved(t *testing.T) {
	for path, want := range map[string]bool{"/admin": true, "/admin/users": true, "/ADMIN/x": true, "/administrator": false,
		"/api/v1": true, "/static/app.css": true, "/setup": true, "/healthz": true, "/readyz": true, "/profile": false, "/": false} {
		if got := Reserved(path); got != want {
			t.Errorf("Reserved(%q) = %v", path, got)
		}
	}
}
