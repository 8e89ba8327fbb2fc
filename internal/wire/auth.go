package wire

import (
	"container/list"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sn27/compute/internal/clip"
	"github.com/sn27/compute/internal/wallet"
)

// Dendrite versions as Bittensor encodes them.
const (
	// Version693 is bittensor 6.9.3's version int (100*major+10*minor+patch),
	// the SDK the original subnet ran.
	Version693 int64 = 693
	// Version720 is bittensor 7.2.0 in the >= 7.2 encoding; dendrites at or
	// above it must send wall-clock nonces.
	Version720 int64 = 7_002_000
	// DefaultDendriteVersion is what this dendrite announces in modern style.
	DefaultDendriteVersion int64 = 9_000_000
)

// AllowedNonceDelta is the clock tolerance of the >= 7.2 freshness window,
// added to the request timeout.
const AllowedNonceDelta = 4 * time.Second

// MaxNonceWindowTimeout bounds the timeout CheckNonce adds to the freshness
// window (the axon passes its own, smaller, capped timeout).
const MaxNonceWindowTimeout = time.Hour

// Signer signs the dendrite's messages; *wallet.Keypair implements it.
type Signer interface {
	SS58Address() string
	Sign(msg []byte) ([]byte, error)
}

// SignatureMessage is the text a dendrite signs and an axon verifies:
// "{nonce}.{dendrite hotkey}.{axon hotkey}.{uuid}.{body hash}".
func SignatureMessage(nonce int64, dendriteHotkey, axonHotkey, uuid, bodyHash string) string {
	var b strings.Builder
	b.Grow(20 + len(dendriteHotkey) + len(axonHotkey) + len(uuid) + len(bodyHash) + 4)
	b.WriteString(strconv.FormatInt(nonce, 10))
	b.WriteByte('.')
	b.WriteString(dendriteHotkey)
	b.WriteByte('.')
	b.WriteString(axonHotkey)
	b.WriteByte('.')
	b.WriteString(uuid)
	b.WriteByte('.')
	b.WriteString(bodyHash)
	return b.String()
}

// SignMessage signs msg and returns the signature as "0x" + lowercase hex.
func SignMessage(s Signer, msg string) (string, error) {
	sig, err := s.Sign([]byte(msg))
	if err != nil {
		return "", fmt.Errorf("wire: sign request: %w", err)
	}
	return "0x" + hex.EncodeToString(sig), nil
}

// VerifyError is a verification failure; its message is what Bittensor puts
// after "Not Verified with error: ".
type VerifyError struct{ Msg string }

func (e *VerifyError) Error() string { return e.Msg }

func verifyErr(format string, a ...any) error { return &VerifyError{Msg: fmt.Sprintf(format, a...)} }

// VerifySignature checks a request's signature as default_verify does: the
// message is rebuilt from the headers with the axon's own hotkey. A missing,
// empty or non-hex signature is rejected.
func VerifySignature(h *HeaderInfo, ownHotkey string) error {
	d := &h.Dendrite
	if d.Hotkey == nil || *d.Hotkey == "" {
		return verifyErr("No SS58 formatted address or public key provided.")
	}
	pub, err := wallet.PublicKeyFromSS58(*d.Hotkey)
	if err != nil {
		return verifyErr("Invalid SS58 formatted address %q.", clip.String(*d.Hotkey, 64))
	}
	if d.Nonce == nil {
		return verifyErr("Missing Nonce")
	}
	if d.Signature == nil || *d.Signature == "" {
		return verifyErr("Missing Signature")
	}
	sigText := *d.Signature
	if !strings.HasPrefix(sigText, "0x") || len(sigText) != 2+128 {
		return verifyErr("Signature must be 0x followed by 128 hex digits")
	}
	sig, err := hex.DecodeString(sigText[2:])
	if err != nil {
		return verifyErr("Signature must be 0x followed by 128 hex digits")
	}
	uuid := ""
	if d.UUID != nil {
		uuid = *d.UUID
	}
	msg := SignatureMessage(*d.Nonce, *d.Hotkey, ownHotkey, uuid, h.ComputedBodyHash)
	if !wallet.Verify(pub, []byte(msg), sig) {
		return verifyErr("Signature mismatch with %s and %s", clip.String(msg, 300), sigText)
	}
	return nil
}

// NonceReorderWindow is how far below the newest accepted nonce of a
// dendrite an axon still accepts a nonce it has not seen yet. A Python
// dendrite querying one axon several times at once (dendrite.forward over a
// list, or concurrent calls) signs the requests in order but they may reach
// the axon in any order; a Python axon verifies them one after another on its
// event loop in arrival order, which in practice is send order, while this
// axon verifies them in parallel. Each nonce is still accepted only once.
const NonceReorderWindow = 4 * time.Second

// maxReorderNonces bounds how many accepted nonces below the newest one are
// remembered per endpoint key; when it overflows, everything at or below the
// forgotten nonce is refused.
const maxReorderNonces = 32

// CheckNonce applies Bittensor's nonce rules for one endpoint key
// ("hotkey:uuid"). last/seen is the nonce stored for the key, if any.
//   - Dendrites announcing version >= Version720 send wall-clock nonces, which
//     must be newer than now - AllowedNonceDelta - timeout. This axon applies the
//     window on every request (Bittensor only on first contact), so that
//     forgetting old keys never opens a replay window.
//   - Any stored nonce must be strictly exceeded. Older dendrites (version 693,
//     monotonic nonces) get only this check.
//
// timeout is in seconds; values outside [0, MaxNonceWindowTimeout] are
// clamped so that no header value can overflow or open the window. The Axon
// applies the freshness rule as is and relaxes the ordering rule by
// NonceReorderWindow (see there).
func CheckNonce(nonce int64, version int64, timeout float64, now time.Time, last int64, seen bool) error {
	if err := checkFreshness(nonce, version, timeout, now); err != nil {
		return err
	}
	if seen && nonce <= last {
		return staleNonce(version)
	}
	return nil
}

// checkFreshness is the >= 7.2 wall-clock rule of CheckNonce.
func checkFreshness(nonce int64, version int64, timeout float64, now time.Time) error {
	if version < Version720 {
		return nil
	}
	switch {
	case !(timeout >= 0): // negative or NaN
		timeout = 0
	case timeout > MaxNonceWindowTimeout.Seconds():
		timeout = MaxNonceWindowTimeout.Seconds()
	}
	delta := AllowedNonceDelta + time.Duration(timeout*float64(time.Second))
	floor := now.UnixNano() - int64(delta)
	if nonce <= floor {
		age := float64(now.UnixNano()-nonce) / 1e9
		return verifyErr("Nonce is too old: acceptable delta is %.2f seconds but request was %.2f seconds old", delta.Seconds(), age)
	}
	return nil
}

// staleNonce is the error for a nonce that is not new, worded as the
// dendrite's generation of Bittensor words it.
func staleNonce(version int64) error {
	if version >= Version720 {
		return verifyErr("Nonce is too old, a newer one was last processed")
	}
	return verifyErr("Nonce is too small")
}

// nonceStore remembers the nonces accepted per endpoint key: the newest one
// and the others within NonceReorderWindow below it. It holds at most
// capacity keys and forgets the least recently used ones first. Safe for
// concurrent use.
type nonceStore struct {
	mu       sync.Mutex
	capacity int
	window   int64 // NonceReorderWindow in nanoseconds (nonces are ns clocks)
	m        map[string]*list.Element
	lru      list.List // front = most recent; values are *nonceEntry
}

type nonceEntry struct {
	key    string
	newest int64
	// older holds accepted nonces in (newest-window, newest), ascending.
	older []int64
	// floor: nonces at or below it are refused (raised when older overflows).
	floor int64
}

// fresh reports whether nonce has not been accepted before and is not too
// far below the newest accepted one.
func (e *nonceEntry) fresh(nonce, window int64) bool {
	if nonce > e.newest {
		return true
	}
	if nonce == e.newest || nonce <= e.floor || nonce <= e.newest-window {
		return false
	}
	_, found := slices.BinarySearch(e.older, nonce)
	return !found
}

func newNonceStore(capacity int) *nonceStore {
	return &nonceStore{capacity: capacity, window: int64(NonceReorderWindow), m: make(map[string]*list.Element)}
}

// check reports whether nonce may still be accepted for key.
func (s *nonceStore) check(key string, nonce int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	return !ok || e.Value.(*nonceEntry).fresh(nonce, s.window)
}

// get returns the newest nonce accepted for key.
func (s *nonceStore) get(key string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[key]; ok {
		return e.Value.(*nonceEntry).newest, true
	}
	return 0, false
}

// commit records nonce for key if it may still be accepted and reports
// whether it did; a false return means a concurrent request with the same
// nonce won, or newer ones pushed it out of the window.
func (s *nonceStore) commit(key string, nonce int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.m[key]; ok {
		ent := el.Value.(*nonceEntry)
		if !ent.fresh(nonce, s.window) {
			return false
		}
		if nonce > ent.newest {
			ent.older = append(ent.older, ent.newest)
			ent.newest = nonce
			cut := 0
			for cut < len(ent.older) && ent.older[cut] <= nonce-s.window {
				cut++
			}
			ent.older = append(ent.older[:0], ent.older[cut:]...)
		} else {
			i, _ := slices.BinarySearch(ent.older, nonce)
			ent.older = slices.Insert(ent.older, i, nonce)
		}
		if len(ent.older) > maxReorderNonces {
			ent.floor = ent.older[0]
			ent.older = append(ent.older[:0], ent.older[1:]...)
		}
		s.lru.MoveToFront(el)
		return true
	}
	s.m[key] = s.lru.PushFront(&nonceEntry{key: key, newest: nonce, floor: math.MinInt64})
	for s.lru.Len() > s.capacity {
		old := s.lru.Back()
		s.lru.Remove(old)
		delete(s.m, old.Value.(*nonceEntry).key)
	}
	return true
}

func (s *nonceStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Len()
}

// NewUUID returns a version-1-shaped UUID string (time-based fields, random
// node with the multicast bit set), like Python's uuid.uuid1() without a MAC.
func NewUUID() string {
	// 100-ns intervals since 1582-10-15.
	ts := uint64(time.Now().UnixNano()/100) + 0x01B21DD213814000
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	var u [16]byte
	binary.BigEndian.PutUint32(u[0:4], uint32(ts))
	binary.BigEndian.PutUint16(u[4:6], uint16(ts>>32))
	binary.BigEndian.PutUint16(u[6:8], uint16(ts>>48)&0x0fff|0x1000)
	u[8] = rnd[0]&0x3f | 0x80
	u[9] = rnd[1]
	copy(u[10:], rnd[2:])
	u[10] |= 0x01
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

var errNoSigner = errors.New("wire: dendrite needs a signer (the wallet hotkey)")
