package site

import (
	"context"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

func TestBudgetPausesForServiceCalls(t *testing.T) {
	b := newBudget(context.Background(), 30*time.Millisecond)
	defer b.release()
	b.pause()
	time.Sleep(60 * time.Millisecond) // a slow service call: not the script's time
	b.resume()
	if b.Err() != nil {
		t.Fatalf("the budget ended during a service call: %v", b.Err())
	}
	select {
	case <-b.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the budget never ended")
	}
	if !b.timedOut() {
		t.Errorf("ended with %v, want the deadline", b.Err())
	}
}

func TestBudgetEndsWithItsParent(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	b := newBudget(parent, time.Hour)
	defer b.release()
	cancel()
	select {
	case <-b.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the budget outlived its request")
	}
	if b.timedOut() {
		t.Errorf("a cancelled request reads as a timeout")
	}
}

func TestBudgetTinyLimit(t *testing.T) {
	for i := 0; i < 200; i++ { // a timer that fires at once must find the budget whole
		b := newBudget(context.Background(), time.Nanosecond)
		<-b.Done()
		b.release()
	}
}

func TestSandboxStringBuilders(t *testing.T) {
	v := &vm{L: lua.NewState(lua.Options{SkipOpenLibs: true})}
	defer v.L.Close()
	v.openSandbox()
	err := v.L.DoString(`
		assert(string.rep("ab", 3) == "ababab")
		assert(string.rep("ab", 3, ",") == "ab,ab,ab")
		assert(string.rep("ab", 0) == "" and string.rep("ab", -1) == "")
		assert(("x"):rep(2) == "xx")
		assert(table.concat({ "a", "b", "c" }, "-") == "a-b-c")
		assert(table.concat({ "a", "b", "c" }, "-", 2, 3) == "b-c")
		assert(not pcall(string.rep, "x", 5000000))
		assert(os == nil and io == nil and require == nil and load == nil)
	`)
	if err != nil {
		t.Fatal(err)
	}
}
