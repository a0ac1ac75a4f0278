package site

import (
	"html/template"
	"reflect"
	"testing"

	"github.com/webmin/webmin/models"
)

func TestViewDeps(t *testing.T) {
	set := template.New("").Funcs(template.FuncMap{"ago": func(any) string { return "" }, "number": func(any) string { return "" }})
	for name, src := range map[string]string{
		"plain":    `<p>{{.profile.username}} {{number .points}}{{if .is_owner}}<a>{{.CSRF}}</a>{{end}}</p>`,
		"ranges":   `{{range .items}}{{.username}} {{$.title}}{{end}}{{with .me}}{{.id}}{{end}}`,
		"clock":    `{{ago .profile.last_seen_at}}`,
		"whole":    `{{printf "%v" .}}`,
		"calls":    `{{template "part" .}}{{template "part2" .profile}}`,
		"part":     `{{.footer}}`,
		"part2":    `{{.username}}`,
		"callsago": `{{template "clock" .x}}`,
	} {
		template.Must(set.New(name).Parse(src))
	}
	for name, want := range map[string]viewDeps{
		"plain":    {fields: []string{"CSRF", "is_owner", "points", "profile"}},
		"ranges":   {fields: []string{"items", "me", "title"}},
		"clock":    {fields: []string{"profile"}, never: true},
		"whole":    {never: true},
		"calls":    {fields: []string{"footer", "profile"}},
		"callsago": {fields: []string{"x"}, never: true},
	} {
		got := depsOf(set, name)
		if got.never != want.never || (!want.never && !reflect.DeepEqual(got.fields, want.fields)) {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
}

func TestViewKey(t *testing.T) {
	deps := viewDeps{fields: []string{"Me", "profile"}}
	u := &models.User{ID: 7, Snapshot: 3}
	a := viewKey("p", deps, map[string]any{"profile": map[string]any{"username": "ada", "points": int64(1)}, "Me": u, "RequestID": "x"})
	b := viewKey("p", deps, map[string]any{"profile": map[string]any{"username": "ada", "points": int64(1)}, "Me": u, "RequestID": "y"})
	c := viewKey("p", deps, map[string]any{"profile": map[string]any{"username": "ada", "points": int64(2)}, "Me": u})
	if a == "" || a != b || a == c {
		t.Errorf("keys: %q %q %q", a, b, c)
	}
	if k := viewKey("p", deps, map[string]any{"Me": &models.User{ID: 7}}); k != "" {
		t.Errorf("an account of no snapshot is keyed: %q", k)
	}
	if k := viewKey("p", viewDeps{fields: []string{"Flashes"}}, map[string]any{"Flashes": []struct{}{{}}}); k != "" {
		t.Errorf("flashes are keyed: %q", k)
	}
	// "s1:a" + "s0:" must not collide with "s0:" + "s1:a" and the like.
	x := viewKey("p", viewDeps{fields: []string{"a", "b"}}, map[string]any{"a": "x", "b": ""})
	y := viewKey("p", viewDeps{fields: []string{"a", "b"}}, map[string]any{"a": "", "b": "x"})
	if x == y {
		t.Errorf("keys collide: %q", x)
	}
}
