package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/rentals"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/wallet"
)

// Bounds of the rental requests.
const (
	maxSSHKeys        = 16
	maxIdempotencyKey = 255
	maxRentalID       = 128
)

// IdempotencyHeader carries the client's key of a POST /v1/rentals; a
// replayed answer carries ReplayedHeader: true.
const (
	IdempotencyHeader = "Idempotency-Key"
	ReplayedHeader    = "Idempotent-Replayed"
)

// createBody is the body of POST /v1/rentals.
type createBody struct {
	Requirement json.RawMessage `json:"requirement"`
	Hotkey      string          `json:"hotkey"`
	Timeline    *int            `json:"timeline"`
	SSHKeys     []string        `json:"ssh_keys"`
}

// ParseCreateRequest reads and checks the body of POST /v1/rentals: a
// requirement (the device_requirement JSON) or a miner's hotkey, or both;
// the timeline in days; one to 16 SSH public keys. A refusal is a 400
// *Problem naming the field.
func ParseCreateRequest(body io.Reader) (rentals.CreateRequest, error) {
	var b createBody
	if err := decodeJSON(body, &b); err != nil {
		return rentals.CreateRequest{}, err
	}
	var req rentals.CreateRequest
	if raw := strings.TrimSpace(string(b.Requirement)); raw != "" && raw != "null" {
		r, err := container.ParseRequirement(b.Requirement)
		if err != nil {
			return req, invalid("requirement", "requirement: %s", cleanDetail(err))
		}
		req.Requirement = &r
	}
	req.Hotkey = strings.TrimSpace(b.Hotkey)
	if req.Hotkey != "" {
		if _, _, err := wallet.SS58Decode(req.Hotkey); err != nil {
			return req, invalid("hotkey", "hotkey: %q is not an SS58 address", clipText(req.Hotkey))
		}
	}
	if req.Requirement == nil && req.Hotkey == "" {
		return req, invalid("requirement", "give a requirement (what the lease needs) or a miner's hotkey")
	}
	if b.Timeline == nil {
		return req, invalid("timeline", "timeline: the lease length in days (1 to %d) is required", renter.MaxTimeline)
	}
	req.Timeline = *b.Timeline
	if err := renter.CheckTimeline(req.Timeline); err != nil {
		return req, invalid("timeline", "timeline: must be between 1 and %d days, got %d", renter.MaxTimeline, req.Timeline)
	}
	if len(b.SSHKeys) == 0 {
		return req, invalid("ssh_keys", "ssh_keys: at least one SSH public key is required (the lease allows key login only)")
	}
	if len(b.SSHKeys) > maxSSHKeys {
		return req, invalid("ssh_keys", "ssh_keys: at most %d keys, got %d", maxSSHKeys, len(b.SSHKeys))
	}
	for i, k := range b.SSHKeys {
		nk, err := container.NormalizeSSHKey(k)
		if err != nil {
			f := fmt.Sprintf("ssh_keys[%d]", i)
			return req, invalid(f, "%s: %s", f, cleanDetail(err))
		}
		req.SSHKeys = append(req.SSHKeys, nk)
	}
	return req, nil
}

// rentalsOf returns the rentals service, or the 501 of a server without it.
func (s *Server) rentalsOf() (Rentals, error) {
	if s.deps.Rentals == nil {
		return nil, problemf(http.StatusNotImplemented, kindNotImplemented, "rentals are not served here: this server was started without the rentals service")
	}
	return s.deps.Rentals, nil
}

// owner is whose rentals the caller acts on: its own, or everyone's for an admin key.
func owner(c *caller) string {
	if c.has(ScopeAdmin) {
		return ""
	}
	return c.keyID
}

// rentalID is the path's rental id; a malformed one names no rental.
func rentalID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	ok := id != "" && len(id) <= maxRentalID
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			ok = false
			break
		}
	}
	if !ok {
		return "", problemf(http.StatusNotFound, kindNotFound, "no rental %q", clipText(id))
	}
	return id, nil
}

// idempotencyKey is the request's Idempotency-Key: 1 to 255 visible ASCII characters.
func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get(IdempotencyHeader)
	if k == "" {
		return "", invalid(IdempotencyHeader, "the %s header is required: a unique value per rental (a UUID), so that a retried request cannot rent twice", IdempotencyHeader)
	}
	if len(k) > maxIdempotencyKey {
		return "", invalid(IdempotencyHeader, "the %s header is %d characters; at most %d", IdempotencyHeader, len(k), maxIdempotencyKey)
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] > '~' {
			return "", invalid(IdempotencyHeader, "the %s header must be visible ASCII characters", IdempotencyHeader)
		}
	}
	return k, nil
}

func (s *Server) createRental(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.rentalsOf()
	if err != nil {
		return err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	req, err := ParseCreateRequest(r.Body)
	if err != nil {
		return err
	}
	rental, replayed, err := svc.Create(r.Context(), c.keyID, key, req)
	if err != nil {
		return err
	}
	if replayed {
		w.Header().Set(ReplayedHeader, "true")
	}
	w.Header().Set("Location", "/v1/rentals/"+rental.ID)
	return writeRental(w, http.StatusCreated, rental)
}

// writeRental answers a rental, its lists never null.
func writeRental(w http.ResponseWriter, status int, r rentals.Rental) error {
	if r.SSHKeys == nil {
		r.SSHKeys = []rentals.SSHKey{}
	}
	return writeJSON(w, status, r)
}

func (s *Server) listRentals(w http.ResponseWriter, r *http.Request, c *caller) error {
	svc, err := s.rentalsOf()
	if err != nil {
		return err
	}
	list, err := svc.List(r.Context(), owner(c))
	if err != nil {
		return err
	}
	if list == nil {
		list = []rentals.Rental{}
	}
	for i := range list {
		if list[i].SSHKeys == nil {
			list[i].SSHKeys = []rentals.SSHKey{}
		}
	}
	return writeJSON(w, http.StatusOK, map[string][]rentals.Rental{"rentals": list})
}

// act runs one action on the path's rental and answers the rental with status.
func (s *Server) act(w http.ResponseWriter, r *http.Request, c *caller, status int,
	f func(svc Rentals, owner, id string) (rentals.Rental, error)) error {
	svc, err := s.rentalsOf()
	if err != nil {
		return err
	}
	id, err := rentalID(r)
	if err != nil {
		return err
	}
	rental, err := f(svc, owner(c), id)
	if err != nil {
		return err
	}
	return writeRental(w, status, rental)
}

func (s *Server) getRental(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.act(w, r, c, http.StatusOK, func(svc Rentals, owner, id string) (rentals.Rental, error) {
		return svc.Get(r.Context(), owner, id)
	})
}

func (s *Server) releaseRental(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.act(w, r, c, http.StatusOK, func(svc Rentals, owner, id string) (rentals.Rental, error) {
		return svc.Release(r.Context(), owner, id)
	})
}

func (s *Server) restartRental(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.act(w, r, c, http.StatusAccepted, func(svc Rentals, owner, id string) (rentals.Rental, error) {
		return svc.Restart(r.Context(), owner, id)
	})
}

func (s *Server) extendRental(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.act(w, r, c, http.StatusOK, func(svc Rentals, owner, id string) (rentals.Rental, error) {
		var b struct {
			Days *int `json:"days"`
		}
		if err := decodeJSON(r.Body, &b); err != nil {
			return rentals.Rental{}, err
		}
		if b.Days == nil || *b.Days < 1 || *b.Days > renter.MaxTimeline {
			return rentals.Rental{}, invalid("days", "days: the days to add, 1 to %d, are required", renter.MaxTimeline)
		}
		return svc.Extend(r.Context(), owner, id, *b.Days)
	})
}

func (s *Server) addSSHKey(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.act(w, r, c, http.StatusOK, func(svc Rentals, owner, id string) (rentals.Rental, error) {
		var b struct {
			Key string `json:"key"`
		}
		if err := decodeJSON(r.Body, &b); err != nil {
			return rentals.Rental{}, err
		}
		if strings.TrimSpace(b.Key) == "" {
			return rentals.Rental{}, invalid("key", "key: an SSH public key is required (e.g. the line of ~/.ssh/id_ed25519.pub)")
		}
		k, err := container.NormalizeSSHKey(b.Key)
		if err != nil {
			return rentals.Rental{}, invalid("key", "key: %s", cleanDetail(err))
		}
		return svc.AddSSHKey(r.Context(), owner, id, k)
	})
}

func (s *Server) removeSSHKey(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.act(w, r, c, http.StatusOK, func(svc Rentals, owner, id string) (rentals.Rental, error) {
		fp := r.PathValue("fingerprint")
		if !validFingerprint(fp) {
			return rentals.Rental{}, invalid("fingerprint", "%q is not a key fingerprint as ssh-keygen -l prints it (SHA256:<43 base64 characters>, URL-escaped)", clipText(fp))
		}
		return svc.RemoveSSHKey(r.Context(), owner, id, fp)
	})
}

// validFingerprint reports whether fp is SHA256: and 43 unpadded base64 characters.
func validFingerprint(fp string) bool {
	b64, ok := strings.CutPrefix(fp, "SHA256:")
	if !ok || len(b64) != 43 {
		return false
	}
	for _, c := range b64 {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}
