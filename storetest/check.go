package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// checker reports a failed check on t, with the caller's message: must stops
// the test (t.Fatal), check records the failure and carries on (t.Error).
// Each method returns whether the check passed.
//
// The suite checks with these rather than with testify so that importing
// storetest adds nothing to a store author's module graph: the library
// promises golang.org/x/crypto and github.com/google/uuid only.
type checker struct{ fatal bool }

var (
	must  = checker{fatal: true}
	check = checker{}
)

// fail reports what went wrong, followed by the caller's message.
func (c checker) fail(t testing.TB, what string, msgAndArgs []any) bool {
	t.Helper()
	if msg := message(msgAndArgs); msg != "" {
		what += "\n\t" + msg
	}
	if c.fatal {
		t.Fatal(what)
	} else {
		t.Error(what)
	}
	return false
}

// message formats testify-style message arguments: a format and its
// arguments, or a single value.
func message(msgAndArgs []any) string {
	switch len(msgAndArgs) {
	case 0:
		return ""
	case 1:
		if s, ok := msgAndArgs[0].(string); ok {
			return s
		}
		return fmt.Sprint(msgAndArgs[0])
	default:
		if format, ok := msgAndArgs[0].(string); ok {
			return fmt.Sprintf(format, msgAndArgs[1:]...)
		}
		return fmt.Sprint(msgAndArgs...)
	}
}

func (c checker) NoError(t testing.TB, err error, msgAndArgs ...any) bool {
	t.Helper()
	if err != nil {
		return c.fail(t, fmt.Sprintf("unexpected error: %v", err), msgAndArgs)
	}
	return true
}

func (c checker) ErrorIs(t testing.TB, err, target error, msgAndArgs ...any) bool {
	t.Helper()
	if !errors.Is(err, target) {
		return c.fail(t, fmt.Sprintf("error %v (%T) is not %v", err, err, target), msgAndArgs)
	}
	return true
}

func (c checker) Equal(t testing.TB, want, got any, msgAndArgs ...any) bool {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		return c.fail(t, fmt.Sprintf("not equal:\n\twant: %#v\n\tgot:  %#v", want, got), msgAndArgs)
	}
	return true
}

func (c checker) NotEqual(t testing.TB, unwanted, got any, msgAndArgs ...any) bool {
	t.Helper()
	if reflect.DeepEqual(unwanted, got) {
		return c.fail(t, fmt.Sprintf("should not be %#v", got), msgAndArgs)
	}
	return true
}

func (c checker) True(t testing.TB, v bool, msgAndArgs ...any) bool {
	t.Helper()
	if !v {
		return c.fail(t, "should be true", msgAndArgs)
	}
	return true
}

func (c checker) False(t testing.TB, v bool, msgAndArgs ...any) bool {
	t.Helper()
	if v {
		return c.fail(t, "should be false", msgAndArgs)
	}
	return true
}

func (c checker) Nil(t testing.TB, v any, msgAndArgs ...any) bool {
	t.Helper()
	if !isNil(v) {
		return c.fail(t, fmt.Sprintf("expected nil, got %#v", v), msgAndArgs)
	}
	return true
}

func (c checker) NotNil(t testing.TB, v any, msgAndArgs ...any) bool {
	t.Helper()
	if isNil(v) {
		return c.fail(t, "expected a value, got nil", msgAndArgs)
	}
	return true
}

func (c checker) Empty(t testing.TB, v any, msgAndArgs ...any) bool {
	t.Helper()
	if n := length(v); n != 0 {
		return c.fail(t, fmt.Sprintf("expected empty, got %d elements: %#v", n, v), msgAndArgs)
	}
	return true
}

func (c checker) Len(t testing.TB, v any, want int, msgAndArgs ...any) bool {
	t.Helper()
	if n := length(v); n != want {
		return c.fail(t, fmt.Sprintf("expected %d elements, got %d: %#v", want, n, v), msgAndArgs)
	}
	return true
}

// Contains reports whether the slice or array list holds an element deeply
// equal to v.
func (c checker) Contains(t testing.TB, list, v any, msgAndArgs ...any) bool {
	t.Helper()
	l := reflect.ValueOf(list)
	for i := range l.Len() {
		if reflect.DeepEqual(l.Index(i).Interface(), v) {
			return true
		}
	}
	return c.fail(t, fmt.Sprintf("%#v does not contain %#v", list, v), msgAndArgs)
}

func (c checker) Fail(t testing.TB, what string, msgAndArgs ...any) bool {
	t.Helper()
	return c.fail(t, what, msgAndArgs)
}

func (c checker) Less(t testing.TB, a, b int, msgAndArgs ...any) bool {
	t.Helper()
	return c.ordered(t, cmp.Less(a, b), a, "<", b, msgAndArgs)
}

func (c checker) LessOrEqual(t testing.TB, a, b int, msgAndArgs ...any) bool {
	t.Helper()
	return c.ordered(t, a <= b, a, "<=", b, msgAndArgs)
}

func (c checker) ordered(t testing.TB, ok bool, a int, op string, b int, msgAndArgs []any) bool {
	t.Helper()
	if !ok {
		return c.fail(t, fmt.Sprintf("expected %d %s %d", a, op, b), msgAndArgs)
	}
	return true
}

// isNil reports whether v is nil or a nil pointer, map, slice, channel,
// function or interface.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch r := reflect.ValueOf(v); r.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface:
		return r.IsNil()
	}
	return false
}

// length is the number of elements of a slice, map, array, string or
// channel; nil counts as empty.
func length(v any) int {
	if v == nil {
		return 0
	}
	switch r := reflect.ValueOf(v); r.Kind() {
	case reflect.Slice, reflect.Map, reflect.Array, reflect.String, reflect.Chan:
		return r.Len()
	case reflect.Pointer:
		if r.IsNil() {
			return 0
		}
	}
	return 1
}
