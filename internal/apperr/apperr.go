// Package apperr defines the one error type of gongjiang: a stable machine
// code, a message key into the i18n catalogue, and optionally the field that
// is wrong. Transport layers turn codes into statuses in exactly one place.
package apperr

import (
	"errors"
	"fmt"

	"github.com/gongjiang/gongjiang/internal/i18n"
)

// Code is a stable machine-readable error code, part of the public API.
type Code string

const (
	Invalid          Code = "validation_failed"
	NotFound         Code = "not_found"
	Conflict         Code = "conflict"
	Forbidden        Code = "forbidden"
	Unauthorized     Code = "unauthorized"
	RateLimited      Code = "rate_limited"
	TooLarge         Code = "payload_too_large"
	UnsupportedMedia Code = "unsupported_media_type"
	BadJSON          Code = "malformed_json"
	CSRF             Code = "csrf_failed"
	Internal         Code = "internal"
	// UnknownDivision is a validation failure on a GB/T 2260 code.
	UnknownDivision Code = "unknown_division"
	// Duplicate is a conflict with a record that already exists.
	Duplicate Code = "duplicate"
	// DuplicateRegistration: the person already holds an active 学籍.
	DuplicateRegistration Code = "duplicate_registration"
	// InvalidIDNumber: an identity number fails GB 11643 or its format.
	InvalidIDNumber Code = "invalid_id_number"
	// InvalidTransition: a request is not in a state that allows the action.
	InvalidTransition Code = "invalid_transition"
	// InvalidPayload: a certificate's QR payload cannot be read.
	InvalidPayload Code = "invalid_payload"
	// InvalidSignature: a certificate's payload is not signed by a published key.
	InvalidSignature Code = "invalid_signature"
)

// Error is an application error with a user-facing message.
type Error struct {
	Code  Code
	Key   string // message key in the i18n catalogue
	Args  []any
	Field string
	Err   error // underlying cause, never shown to users
}

// E returns an error with code, the field it concerns (may be empty) and a
// catalogue message.
func E(code Code, field, key string, args ...any) *Error {
	return &Error{Code: code, Field: field, Key: key, Args: args}
}

// Internalf wraps an unexpected failure; users see only a generic message.
func Internalf(format string, args ...any) *Error {
	return &Error{Code: Internal, Key: "error.internal", Err: fmt.Errorf(format, args...)}
}

func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Message()
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Message is the user-facing message in Chinese.
func (e *Error) Message() string { return i18n.T(e.Key, e.Args...) }

// As returns err as an *Error; anything else becomes an internal error
// carrying err as its cause.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: Internal, Key: "error.internal", Err: err}
}

// CodeOf returns the code of err, Internal for foreign errors and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	return As(err).Code
}
