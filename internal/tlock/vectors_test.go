package tlock

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// vectors is testdata/vectors.json: published quicknet pulses and
// ciphertexts made by tle (the Rust crate the chain decrypts with), each
// with its source.
type vectors struct {
	Quicknet struct {
		PublicKey   hexBytes `json:"public_key"`
		Period      int      `json:"period"`
		GenesisTime int64    `json:"genesis_time"`
		ChainHash   string   `json:"chain_hash"`
		Scheme      string   `json:"scheme"`
	} `json:"quicknet"`
	Pulses      []pulse `json:"pulses"`
	BadPulses   []pulse `json:"bad_pulses"`
	LocalBeacon struct {
		Secret    hexBytes `json:"secret"`
		PublicKey hexBytes `json:"public_key"`
	} `json:"local_beacon"`
	Ciphertexts []struct {
		Source     string   `json:"source"`
		Round      uint64   `json:"round"`
		PublicKey  string   `json:"public_key"` // "quicknet" or "local_beacon"
		Message    hexBytes `json:"message"`
		Ciphertext hexBytes `json:"ciphertext"`
	} `json:"ciphertexts"`
	// Golden is this package's own output for a fixed randomness stream
	// (see deterministicReader); tle decrypts it.
	Golden struct {
		Round      uint64   `json:"round"`
		Message    hexBytes `json:"message"`
		Ciphertext hexBytes `json:"ciphertext"`
	} `json:"golden"`
}

type pulse struct {
	Source     string   `json:"source"`
	Round      uint64   `json:"round"`
	Randomness hexBytes `json:"randomness"`
	Signature  hexBytes `json:"signature"`
}

type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	*h = d
	return err
}

func loadVectors(tb testing.TB) *vectors {
	tb.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		tb.Fatalf("testdata/vectors.json: %v", err)
	}
	return &v
}

// pulseFor returns the published signature of round.
func (v *vectors) pulseFor(tb testing.TB, round uint64) []byte {
	tb.Helper()
	for _, p := range v.Pulses {
		if p.Round == round {
			return p.Signature
		}
	}
	tb.Fatalf("no published pulse for round %d", round)
	return nil
}

// deterministicReader is a reproducible randomness stream: sha256 of a
// seed and a counter, block after block.
type deterministicReader struct {
	seed []byte
	n    uint64
	buf  []byte
}

func (r *deterministicReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) {
		h := sha256.New()
		h.Write(r.seed)
		var c [8]byte
		for i := range c {
			c[i] = byte(r.n >> (8 * i))
		}
		h.Write(c[:])
		r.buf = h.Sum(r.buf)
		r.n++
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}
