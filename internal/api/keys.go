package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/store"
)

// Scopes of an API key. Admin implies the others.
const (
	ScopeRead  = "read"  // the read endpoints (status, miners, history, ...)
	ScopeRent  = "rent"  // the key's own rentals: create, list, act on them
	ScopeAdmin = "admin" // everything, every key's rentals included
)

// Scopes lists the scopes a key may have.
func Scopes() []string { return []string{ScopeRead, ScopeRent, ScopeAdmin} }

// Key and webhook secret forms: a prefix, the key id (for the lookup) and
// a random secret, all hex.
const (
	tokenPrefix   = "cpk_"
	keyIDBytes    = 6
	secretBytes   = 32
	webhookPrefix = "whsec_"
	// maxRate bounds a key's rate, per minute.
	maxRate = 100_000
	// maxKeyName bounds a key's name.
	maxKeyName = 64
)

// KeySpec is a key to create.
type KeySpec struct {
	// Name says whose key it is (1 to 64 printable characters).
	Name string
	// Scopes are among Scopes().
	Scopes []string
	// Webhook, when set, is the URL that receives the events of the key's
	// rentals (https, or http to a loopback address).
	Webhook string
	// Rate is the key's request rate per minute (0: the server's default).
	Rate int
}

// NewKey is a created key and its secrets, which are shown once: the store
// keeps only the token's hash (and the webhook secret, to sign with).
type NewKey struct {
	Key           store.APIKey
	Token         string // what the client sends: Authorization: Bearer <Token>
	WebhookSecret string // "" without a webhook
}

// ParseScopes reads a comma-separated scope list ("read,rent").
func ParseScopes(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.ToLower(strings.TrimSpace(f)); f != "" {
			out = append(out, f)
		}
	}
	return out, checkScopes(out)
}

func checkScopes(scopes []string) error {
	if len(scopes) == 0 {
		return config.Errorf("api.KeySpec.Scopes", "at least one scope is required (%s)", strings.Join(Scopes(), ", "))
	}
	for _, sc := range scopes {
		if !slices.Contains(Scopes(), sc) {
			return config.Errorf("api.KeySpec.Scopes", "unknown scope %q (the scopes are %s)", sc, strings.Join(Scopes(), ", "))
		}
	}
	return nil
}

// Validate reports the first thing wrong with the spec.
func (k KeySpec) Validate() error {
	name := strings.TrimSpace(k.Name)
	if name == "" || len(name) > maxKeyName {
		return config.Errorf("api.KeySpec.Name", "a name of 1 to %d characters is required (who or what uses the key)", maxKeyName)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return config.Errorf("api.KeySpec.Name", "%q holds a control character", name)
		}
	}
	if err := checkScopes(k.Scopes); err != nil {
		return err
	}
	if k.Rate < 0 || k.Rate > maxRate {
		return config.Errorf("api.KeySpec.Rate", "must be between 0 (the server's default) and %d requests a minute, got %d", maxRate, k.Rate)
	}
	if k.Webhook != "" {
		if err := checkWebhook(k.Webhook); err != nil {
			return config.Errorf("api.KeySpec.Webhook", "%w", err)
		}
	}
	return nil
}

func checkWebhook(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%q is not an absolute URL (e.g. https://example.com/hooks/compute)", s)
	}
	if u.User != nil {
		return fmt.Errorf("%q carries credentials; the deliveries are signed instead", s)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !Loopback(u.Hostname()) {
			return fmt.Errorf("%q is plain HTTP to another machine; use https (http is for a receiver on this machine)", s)
		}
	default:
		return fmt.Errorf("%q: the scheme must be https", s)
	}
	return nil
}

// KeyStore is where keys are kept; *store.Validator implements it.
type KeyStore interface {
	CreateAPIKey(ctx context.Context, k store.APIKey) error
}

// CreateKey makes a key for spec and stores it; the returned token and
// webhook secret are nowhere else.
func CreateKey(ctx context.Context, st KeyStore, spec KeySpec, now time.Time) (NewKey, error) {
	if err := spec.Validate(); err != nil {
		return NewKey{}, err
	}
	for range 3 { // a taken id (2^48 of them) is all but impossible; retry anyway
		id, err := randomHex(keyIDBytes)
		if err != nil {
			return NewKey{}, err
		}
		secret, err := randomHex(secretBytes)
		if err != nil {
			return NewKey{}, err
		}
		nk := NewKey{Token: tokenPrefix + id + "_" + secret}
		sum := sha256.Sum256([]byte(nk.Token))
		nk.Key = store.APIKey{ID: id, Name: strings.TrimSpace(spec.Name), Hash: sum[:], Scopes: slices.Clone(spec.Scopes),
			WebhookURL: spec.Webhook, RatePerMinute: spec.Rate, CreatedAt: now}
		if spec.Webhook != "" {
			ws, err := randomHex(secretBytes)
			if err != nil {
				return NewKey{}, err
			}
			nk.WebhookSecret = webhookPrefix + ws
			nk.Key.WebhookSecret = nk.WebhookSecret
		}
		err = st.CreateAPIKey(ctx, nk.Key)
		if errors.Is(err, store.ErrAPIKeyExists) {
			continue
		}
		if err != nil {
			return NewKey{}, err
		}
		return nk, nil
	}
	return NewKey{}, errors.New("could not find a free key id")
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random bytes: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// parseToken splits a token into its key id; ok is false when it does not
// have the token's form.
func parseToken(tok string) (id string, ok bool) {
	rest, found := strings.CutPrefix(tok, tokenPrefix)
	if !found || len(rest) != 2*keyIDBytes+1+2*secretBytes || rest[2*keyIDBytes] != '_' {
		return "", false
	}
	for i, c := range rest {
		if i == 2*keyIDBytes {
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", false
		}
	}
	return rest[:2*keyIDBytes], true
}

// caller is who sent a request: a key, or nobody (keyID "").
type caller struct {
	keyID  string
	scopes []string
	rate   int // the key's own rate per minute; 0: the default
	remote string
}

// has reports whether the caller may use scope (admin may use all).
func (c *caller) has(scope string) bool {
	return slices.Contains(c.scopes, ScopeAdmin) || slices.Contains(c.scopes, scope)
}

// authenticate fills c from the request's bearer key. No Authorization
// header leaves c anonymous; a header that is not a live key is a 401.
func (s *Server) authenticate(r *http.Request, c *caller) error {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil
	}
	unauthorized := func(format string, args ...any) error {
		return problemf(http.StatusUnauthorized, kindUnauthorized, format, args...).
			withHeader("WWW-Authenticate", `Bearer realm="compute", error="invalid_token"`)
	}
	scheme, tok, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return unauthorized("the Authorization header must be \"Bearer <API key>\"")
	}
	tok = strings.TrimSpace(tok)
	id, ok := parseToken(tok)
	if !ok {
		return unauthorized("the API key is malformed (keys look like %s<12 hex>_<64 hex>)", tokenPrefix)
	}
	k, err := s.deps.Store.APIKey(r.Context(), id)
	if errors.Is(err, store.ErrAPIKeyNotFound) {
		return unauthorized("the API key is not valid")
	}
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(sum[:], k.Hash) != 1 {
		return unauthorized("the API key is not valid")
	}
	if k.Revoked() {
		return unauthorized("the API key %s was revoked on %s", k.ID, k.RevokedAt.UTC().Format(time.RFC3339))
	}
	c.keyID, c.scopes, c.rate = k.ID, k.Scopes, k.RatePerMinute
	return nil
}
