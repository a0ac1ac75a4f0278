package site

import (
	"testing"

	lua "github.com/yuin/gopher-lua"
)

func TestValidatorRules(t *testing.T) {
	for _, tc := range []struct {
		value lua.LValue
		rules string
		msg   string
		out   lua.LValue
	}{
		{lua.LNil, "required|string", "The user name field is required.", nil},
		{lua.LString("   "), "required", "The user name field is required.", nil},
		{lua.LNil, "string|max:3", "", lua.LNil},
		{lua.LString("ab"), "required|string|min:3|max:30", "The user name must be at least 3 characters.", nil},
		{lua.LString("abcd"), "required|string|min:3|max:3", "The user name may not be longer than 3 characters.", nil},
		{lua.LString("héllo"), "string|max:5", "", lua.LString("héllo")},
		{lua.LString(" pass word "), "required|string|min:8", "", lua.LString(" pass word ")},
		{lua.LNumber(3), "string", "The user name must be text.", nil},
		{lua.LString("a@b.co"), "required|email", "", lua.LString("a@b.co")},
		{lua.LString("a@b"), "email", "The user name must be a valid e-mail address.", nil},
		{lua.LString("Bob <a@b.co>"), "email", "The user name must be a valid e-mail address.", nil},
		{lua.LString("12"), "numeric|min:18", "The user name must be at least 18.", nil},
		{lua.LString("20"), "integer|between:18,99", "", lua.LNumber(20)},
		{lua.LString("2.5"), "integer", "The user name must be a whole number.", nil},
		{lua.LString("x"), "numeric", "The user name must be a number.", nil},
		{lua.LString("on"), "boolean", "", lua.LTrue},
		{lua.LString("b"), "in:a,b,c", "", lua.LString("b")},
		{lua.LString("d"), "in:a,b,c", "The selected user name is not valid.", nil},
		{lua.LString("a b"), "alpha_dash", "The user name may only contain letters, digits, dashes and underscores.", nil},
		{lua.LString("https://x.org/a"), "url", "", lua.LString("https://x.org/a")},
		{lua.LString("javascript:alert(1)"), "url", "The user name must be a web address (http:// or https://).", nil},
	} {
		out, msg, ruleErr := checkField("user_name", tc.value, tc.rules, &lua.LTable{})
		if ruleErr != "" {
			t.Fatalf("%s: %s", tc.rules, ruleErr)
		}
		if msg != tc.msg || (tc.msg == "" && out != tc.out) {
			t.Errorf("%v against %q: %q %v, want %q %v", tc.value, tc.rules, msg, out, tc.msg, tc.out)
		}
	}
	if _, _, ruleErr := checkField("x", lua.LString("a"), "required|frobnicate", &lua.LTable{}); ruleErr == "" {
		t.Errorf("an unknown rule was accepted")
	}
}

func TestValidatorInLua(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	v := &vm{L: L}
	L.SetGlobal("validator", L.NewFunction(v.newValidator))
	err := L.DoString(`
		local v = validator({ username = "al", email = "x", password = "secret123", extra = "dropped",
		                      password_confirmation = "secret124" }, {
			username = "required|string|min:3|max:30",
			email = "required|email",
			password = "required|string|min:8|confirmed",
		})
		assert(v:fails() and not v:passes())
		assert(v:first() == "The username must be at least 3 characters.", v:first())
		assert(v:errors().email == "The email must be a valid e-mail address.")
		assert(v:errors().password == "The password confirmation does not match.")
		local ok = validator({ username = "alice" }, { username = "required", email = "email" })
		assert(not ok:fails() and ok:first() == nil)
		assert(ok:valid().username == "alice" and ok:valid().email == nil)
	`)
	if err != nil {
		t.Fatal(err)
	}
}
