package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a delivery.
const (
	HeaderEvent     = "X-Compute-Event"     // the event type, rental.allocated ...
	HeaderDelivery  = "X-Compute-Delivery"  // the delivery id, the same on every attempt
	HeaderTimestamp = "X-Compute-Timestamp" // Unix seconds when this attempt was signed
	HeaderSignature = "X-Compute-Signature" // "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)
)

// DefaultTolerance is how far a delivery's timestamp may be from the
// receiver's clock when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify, for errors.Is.
var (
	ErrNoSecret     = errors.New("webhook: no secret to verify with")
	ErrNoSignature  = errors.New("webhook: the request is not signed (no timestamp or signature header)")
	ErrBadTimestamp = errors.New("webhook: the timestamp header is not Unix seconds")
	ErrStale        = errors.New("webhook: the timestamp is too far from now (a replay, or a clock off)")
	ErrBadSignature = errors.New("webhook: the signature does not match")
)

// Sign returns the X-Compute-Signature value of body sent at timestamp
// (Unix seconds): "sha256=" and the hex HMAC-SHA256 of
// "<timestamp>.<body>" keyed with secret.
func Sign(secret string, timestamp int64, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, strconv.FormatInt(timestamp, 10), body))
}

func mac(secret, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a received delivery: the signature header must be the
// HMAC-SHA256 of "<timestamp>.<body>" under secret, and the timestamp
// within tolerance of now (DefaultTolerance when tolerance <= 0), so that a
// recorded delivery cannot be replayed later. It compares in constant time.
func Verify(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if secret == "" {
		return ErrNoSecret
	}
	ts, sig := header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	if ts == "" || sig == "" {
		return ErrNoSignature
	}
	if len(ts) > 12 || strings.TrimLeft(ts, "0123456789") != "" {
		return ErrBadTimestamp
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if skew := now.Sub(time.Unix(sec, 0)); skew > tolerance || skew < -tolerance {
		return fmt.Errorf("%w: sent at %s, %v from now", ErrStale, time.Unix(sec, 0).UTC().Format(time.RFC3339), skew.Round(time.Second))
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok || len(hexSig) != 2*sha256.Size {
		return fmt.Errorf("%w: want sha256=<64 hex digits>", ErrBadSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: want sha256=<64 hex digits>", ErrBadSignature)
	}
	if !hmac.Equal(got, mac(secret, ts, body)) {
		return ErrBadSignature
	}
	return nil
}
