package tlock

import (
	"crypto/rand"
	"encoding/binary"
	"testing"
)

// weightsPayload builds a payload the size of a 256-uid weights commit:
// SCALE {hotkey: Vec<u8> (32), uids: Vec<u16>, values: Vec<u16>, version_key: u64}.
func weightsPayload(n int) []byte {
	compact := func(out []byte, v int) []byte { // n < 16384: two-byte mode
		return binary.LittleEndian.AppendUint16(out, uint16(v<<2|1))
	}
	out := append([]byte{32 << 2}, make([]byte, 32)...)
	out = compact(out, n)
	for i := range n {
		out = binary.LittleEndian.AppendUint16(out, uint16(i))
	}
	out = compact(out, n)
	for i := range n {
		out = binary.LittleEndian.AppendUint16(out, uint16(65535-i))
	}
	return binary.LittleEndian.AppendUint64(out, 142)
}

func BenchmarkEncrypt256(b *testing.B) {
	msg := weightsPayload(256)
	pub := QuicknetPublicKey()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encrypt(rand.Reader, pub, 1_000_000, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt256(b *testing.B) {
	bc := mustBeacon(b, 1)
	msg := weightsPayload(256)
	ct, err := Encrypt(rand.Reader, bc.PublicKey(), 7, msg)
	if err != nil {
		b.Fatal(err)
	}
	sig := bc.Sign(7)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decrypt(sig, ct); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	bc := mustBeacon(b, 1)
	sig := bc.Sign(7)
	pub := bc.PublicKey()
	for b.Loop() {
		if err := Verify(pub, 7, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	bc := mustBeacon(b, 1)
	for b.Loop() {
		bc.Sign(7)
	}
}
