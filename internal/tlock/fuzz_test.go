package tlock

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

// FuzzDecrypt: arbitrary ciphertext and signature bytes never panic, and
// every failure is one of the package's errors.
func FuzzDecrypt(f *testing.F) {
	v := loadVectors(f)
	for _, c := range v.Ciphertexts {
		if c.PublicKey == "quicknet" {
			f.Add([]byte(c.Ciphertext), v.pulseFor(f, c.Round))
		}
	}
	b := mustBeacon(f, 9)
	ct, err := Encrypt(rand.Reader, b.PublicKey(), 3, []byte("seed"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ct, b.Sign(3))
	f.Add(ct, b.Sign(4))
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, ct, sig []byte) {
		msg, err := Decrypt(sig, ct)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalidSignature) && !errors.Is(err, ErrDecrypt) {
				t.Fatalf("unclassified error: %v", err)
			}
			if msg != nil {
				t.Fatal("message returned with an error")
			}
			return
		}
		if len(ct) != len(msg)+Overhead {
			t.Fatalf("opened a %d-byte ciphertext into %d bytes", len(ct), len(msg))
		}
	})
}

// FuzzVerify: arbitrary keys, rounds and signatures never panic, and only
// a genuine signature verifies.
func FuzzVerify(f *testing.F) {
	v := loadVectors(f)
	for _, p := range v.Pulses {
		f.Add([]byte(v.Quicknet.PublicKey), p.Round, []byte(p.Signature))
	}
	b := mustBeacon(f, 9)
	f.Add(b.PublicKey(), uint64(5), b.Sign(5))
	f.Add([]byte{}, uint64(0), []byte{})
	f.Fuzz(func(t *testing.T, pub []byte, round uint64, sig []byte) {
		err := Verify(pub, round, sig)
		if err == nil {
			return
		}
		if !errors.Is(err, ErrInvalidPublicKey) && !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("unclassified error: %v", err)
		}
		if bytes.Equal(pub, b.PublicKey()) && bytes.Equal(sig, b.Sign(round)) {
			t.Fatal("genuine signature refused")
		}
	})
}
