package models

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ErrNotFound is returned when the account (or token, key, event) does not exist.
var ErrNotFound = errors.New("not found")

// ErrInvalidCredentials is the one answer for a wrong password, an unknown
// account and a deleted account, so that sign-in can't be used to probe.
var ErrInvalidCredentials = errors.New("invalid username, e-mail or password")

// ValidationError names each field that was refused and why.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// fieldError builds a ValidationError for a single field.
func fieldError(field, msg string) *ValidationError {
	return &ValidationError{Fields: map[string]string{field: msg}}
}

// ConflictError means a unique value (username, e-mail) is already taken.
type ConflictError struct {
	Field   string
	Message string

	lookAlike bool // the value's skeleton is taken (see takenOrAlike)
}

func (e *ConflictError) Error() string { return e.Message }

// DeniedError means the actor may not do this; Reason is safe to show.
type DeniedError struct {
	Reason string
}

func (e *DeniedError) Error() string { return "denied: " + e.Reason }

func denied(format string, args ...any) error {
	return &DeniedError{Reason: fmt.Sprintf(format, args...)}
}

// BannedError is returned by Login for a banned account once the password
// was right, so the person can be told why.
type BannedError struct {
	Reason string
}

func (e *BannedError) Error() string { return "account is banned" }

// NotConfirmedError is returned by Login for an account whose e-mail
// address has not been confirmed yet (type Inactive) once the password was right.
type NotConfirmedError struct {
	UserID int64
}

func (e *NotConfirmedError) Error() string { return "e-mail address not confirmed" }

// SecondFactorError is returned by Login when the password was right and
// the account has two-factor on: the sign-in goes on with a pending
// session (StartSession) until a code completes it.
type SecondFactorError struct {
	User *User
}

func (e *SecondFactorError) Error() string { return "a second factor is needed" }

// LockedError is returned by Login while an account or address is locked
// after too many failed attempts.
type LockedError struct {
	RetryAfter time.Duration
}

func (e *LockedError) Error() string { return "too many failed sign-ins" }

// IsNotFound reports whether err is or wraps ErrNotFound.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
