package codes

import (
	"fmt"
	"net/http"
)

// Error is a refusal with its HTTP status, code, message and optional
// details (for document checks: the list of problems with their paths).
// The API writes it as {"code", "message", "details"}.
type Error struct {
	Status  int
	Code    string
	Message string
	Details any
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// New builds an Error.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Unprocessable is the usual refusal of a well-formed request whose content
// fails a check (HTTP 422).
func Unprocessable(code, format string, args ...any) *Error {
	return New(http.StatusUnprocessableEntity, code, format, args...)
}
