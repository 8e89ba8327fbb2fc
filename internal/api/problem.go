package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/rentals"
	"github.com/sn27/compute/internal/renter"
)

// ProblemContentType is the media type of every error answer (RFC 9457).
const ProblemContentType = "application/problem+json"

// problemTypeBase starts every problem's type; the kinds below end it.
const problemTypeBase = "urn:compute:api:"

// Problem kinds, the ends of the problem types (docs/api.md lists them).
const (
	kindInvalid          = "invalid-request"
	kindUnauthorized     = "unauthorized"
	kindForbidden        = "forbidden"
	kindNotFound         = "not-found"
	kindMethodNotAllowed = "method-not-allowed"
	kindConflict         = "conflict"
	kindNoCandidate      = "no-candidate"
	kindBodyTooLarge     = "body-too-large"
	kindUnsupportedMedia = "unsupported-media-type"
	kindIdempotency      = "idempotency-mismatch"
	kindRateLimited      = "rate-limited"
	kindInternal         = "internal"
	kindNotImplemented   = "not-implemented"
	kindMiner            = "miner-error"
	kindUnavailable      = "unavailable"
	kindTimeout          = "timeout"
)

// titles are the problems' short, fixed summaries.
func title(kind string) string {
	switch kind {
	case kindInvalid:
		return "The request is malformed"
	case kindUnauthorized:
		return "No valid API key"
	case kindForbidden:
		return "The API key lacks the scope"
	case kindNotFound:
		return "Not found"
	case kindMethodNotAllowed:
		return "Method not allowed"
	case kindConflict:
		return "Conflict with the current state"
	case kindNoCandidate:
		return "No miner meets the requirement"
	case kindBodyTooLarge:
		return "The request body is too large"
	case kindUnsupportedMedia:
		return "The request body must be JSON"
	case kindIdempotency:
		return "The idempotency key was used for another request"
	case kindRateLimited:
		return "Too many requests"
	case kindNotImplemented:
		return "Not available on this server"
	case kindMiner:
		return "The miner failed"
	case kindUnavailable:
		return "No miner is available now"
	case kindTimeout:
		return "The request took too long"
	}
	return "Internal error"
}

// Problem is an error answer, sent as application/problem+json.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance,omitempty"`
	// Field names what is wrong in the request (a body field such as
	// "ssh_keys[1]", a query parameter, a header), for a 400.
	Field string `json:"field,omitempty"`
	// RequestID is the request's X-Request-Id, to find it in the server's log.
	RequestID string `json:"request_id,omitempty"`

	headers map[string]string
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

func problemf(status int, kind, format string, args ...any) *Problem {
	return &Problem{Type: problemTypeBase + kind, Title: title(kind), Status: status, Detail: fmt.Sprintf(format, args...)}
}

// invalid is a 400 about one field of the request.
func invalid(field, format string, args ...any) *Problem {
	p := problemf(http.StatusBadRequest, kindInvalid, format, args...)
	p.Field = field
	return p
}

func (p *Problem) withHeader(k, v string) *Problem {
	if p.headers == nil {
		p.headers = map[string]string{}
	}
	p.headers[k] = v
	return p
}

// writeProblem answers err as a problem; errors that are no Problem are
// mapped by problemFor, and a 500 is logged and says nothing of its cause.
func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, requestID string, err error) {
	p := s.problemFor(err)
	if p.Status >= 500 && p.Type == problemTypeBase+kindInternal {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "request_id", requestID, "err", err)
	} else if p.Status >= 500 {
		s.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "request_id", requestID, "status", p.Status, "err", err)
	}
	out := *p
	out.Instance, out.RequestID = r.URL.Path, requestID
	if rec, ok := w.(*recorder); ok {
		rec.detail = out.Detail
	}
	for k, v := range p.headers {
		w.Header().Set(k, v)
	}
	b, err := marshal(out)
	if err != nil {
		b = []byte(`{"type":"urn:compute:api:internal","title":"Internal error","status":500,"detail":"the error could not be written"}`)
	}
	w.Header().Set("Content-Type", ProblemContentType)
	w.Header().Del("Content-Length")
	w.WriteHeader(out.Status)
	_, _ = w.Write(b)
}

// problemFor maps an error to its answer: a *Problem as it is, the
// rentals' and the renter's errors by meaning, a refused configuration
// value as a 400 naming the request's field, anything else as a 500.
func (s *Server) problemFor(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var fe *config.FieldError
	detail := cleanDetail(err)
	switch {
	case errors.Is(err, rentals.ErrNotFound), errors.Is(err, renter.ErrNotRecorded):
		return problemf(http.StatusNotFound, kindNotFound, "%s", detail)
	case errors.Is(err, rentals.ErrIdempotencyMismatch):
		return problemf(http.StatusUnprocessableEntity, kindIdempotency, "%s", detail)
	case errors.Is(err, rentals.ErrInProgress), errors.Is(err, rentals.ErrInterrupted), errors.Is(err, rentals.ErrEnded),
		errors.Is(err, rentals.ErrLastKey), errors.Is(err, renter.ErrAlreadyHeld), errors.Is(err, renter.ErrAllHeld):
		return problemf(http.StatusConflict, kindConflict, "%s", detail)
	case errors.Is(err, renter.ErrUnsupported):
		return problemf(http.StatusConflict, kindConflict, "%s", detail)
	case errors.Is(err, renter.ErrNoCandidate):
		return problemf(http.StatusConflict, kindNoCandidate, "%s", detail)
	case errors.Is(err, renter.ErrNoneAvailable):
		return problemf(http.StatusServiceUnavailable, kindUnavailable, "%s", detail).withHeader("Retry-After", "60")
	case errors.Is(err, renter.ErrRefused), errors.Is(err, renter.ErrUnreachable):
		return problemf(http.StatusBadGateway, kindMiner, "%s", detail)
	case errors.As(err, &fe):
		field := requestField(fe.Field)
		return invalid(field, "%s: %s", field, cleanDetail(fe.Err))
	case errors.Is(err, container.ErrInvalidRequirement):
		return invalid("requirement", "requirement: %s", detail)
	case errors.Is(err, container.ErrInvalidPublicKey):
		return invalid("ssh_keys", "%s", detail)
	case errors.Is(err, context.DeadlineExceeded):
		return problemf(http.StatusGatewayTimeout, kindTimeout, "the request did not finish in time; for a rental, list your rentals before trying again")
	}
	return problemf(http.StatusInternalServerError, kindInternal, "the server failed to answer; the request id is in its log")
}

// cleanDetail is an error's text without the package prefixes that mean
// nothing to a client ("container: invalid device requirement: ...").
func cleanDetail(err error) string {
	msg := err.Error()
	for _, p := range []string{"renter: ", "container: ", "rentals: ", "store: "} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	msg = strings.ReplaceAll(msg, "invalid device requirement: ", "")
	return msg
}

// requestFields names the request fields of the configuration fields the
// renter and the rentals refuse, where the snake-case of the Go name is
// not it.
var requestFields = map[string]string{
	"renter.Request.SSHKey": "ssh_keys",
	"renter.Resources":      "requirement",
}

// requestField is the request's name of a configuration field: the mapped
// one, else the snake case of its last part (renter.Request.Timeline ->
// timeline, renter.Resources.GPUCapacity -> gpu_capacity).
func requestField(field string) string {
	if f, ok := requestFields[field]; ok {
		return f
	}
	last := field[strings.LastIndex(field, ".")+1:]
	return snake(last)
}

// snake writes a Go name in snake case: SSHKeys -> ssh_keys, CPUCount -> cpu_count.
func snake(name string) string {
	rs := []rune(name)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 {
			prevLower := unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLower || (nextLower && unicode.IsUpper(rs[i-1])) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
