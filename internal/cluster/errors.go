package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
	vault "github.com/hashicorp/vault/api"
)

// StatusError is an HTTP answer other than success, for implementations
// that are not the official clients (clustertest).
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Message) }

// Error is a failed call: the operation, on what, where, and the
// component's answer. Status is 0 when no answer came (unreachable,
// interrupted).
type Error struct {
	Op      *Operation
	Target  Target
	Addr    string
	Status  int
	Message string
	Err     error
	// Hint is added to a refusal when the request carried no token.
	Hint string
}

func (e *Error) Error() string {
	if e.Status == 403 {
		msg := e.Op.refusal(e.Target, fmt.Sprintf("%d %s", e.Status, e.Message))
		if e.Hint != "" {
			msg += "; " + e.Hint
		}
		return msg
	}
	if e.Status == 0 {
		return fmt.Sprintf("%s at %s: %s", e.Op.failure(e.Target), e.Addr, e.Message)
	}
	return fmt.Sprintf("%s at %s: %d %s", e.Op.failure(e.Target), e.Addr, e.Status, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// withHint attaches hint to a refusal.
func withHint(err error, hint string) error {
	var e *Error
	if hint != "" && errors.As(err, &e) && e.Status == 403 {
		e.Hint = hint
	}
	return err
}

// noTokenHint says which variable was empty.
func noTokenHint(variable string) string {
	return "but no token was given: set " + variable + ` (on the dev stack: eval "$(stackctl dev env)")`
}

// wrap classifies err from op on t; nil stays nil.
func wrap(op *Operation, addr string, t Target, err error) error {
	if err == nil {
		return nil
	}
	var done *Error
	if errors.As(err, &done) {
		return err
	}
	status, msg := classify(err)
	return &Error{Op: op, Target: t, Addr: addr, Status: status, Message: msg, Err: err}
}

// classify reads the HTTP status from the API packages' typed errors,
// never from the text.
func classify(err error) (int, string) {
	var se *StatusError
	var ne nomad.UnexpectedResponseError
	var pne *nomad.UnexpectedResponseError
	var ce consul.StatusError
	var pce *consul.StatusError
	var ve *vault.ResponseError
	switch {
	case errors.As(err, &se):
		return se.Code, firstLine(se.Message)
	case errors.As(err, &ne):
		return ne.StatusCode(), firstLine(ne.Body())
	case errors.As(err, &pne):
		return pne.StatusCode(), firstLine(pne.Body())
	case errors.As(err, &ce):
		return ce.Code, firstLine(ce.Body)
	case errors.As(err, &pce):
		return pce.Code, firstLine(pce.Body)
	case errors.As(err, &ve):
		return ve.StatusCode, firstLine(strings.Join(ve.Errors, "; "))
	case errors.Is(err, vault.ErrSecretNotFound):
		return 404, "not found"
	}
	return 0, Short(err)
}

// Status is the HTTP status of a failed call, 0 when there was none.
func Status(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	s, _ := classify(err)
	return s
}

// IsNotFound reports a 404: the object does not exist.
func IsNotFound(err error) bool { return err != nil && Status(err) == 404 }

// IsForbidden reports a 403: the token lacks a permission.
func IsForbidden(err error) bool { return err != nil && Status(err) == 403 }

// Interrupted reports that the caller's context ended (deadline or
// Ctrl-C), as opposed to a failure of the cluster.
func Interrupted(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// Short reduces transport errors to their cause ("connection refused") and
// long messages to one line.
func Short(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	s := firstLine(err.Error())
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(s)
}
