package scale

import (
	"encoding/hex"
	"errors"
	"math/big"
	"testing"
)

func TestCompact(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want string
	}{
		{0, "00"}, {1, "04"}, {63, "fc"}, {64, "0101"}, {16383, "fdff"}, {16384, "02000100"},
		{1<<30 - 1, "feffffff"}, {1 << 30, "0300000040"}, {1<<32 - 1, "03ffffffff"}, {1 << 32, "070000000001"},
		{1<<64 - 1, "13ffffffffffffffff"},
	} {
		got := AppendCompact(nil, tc.n)
		if hex.EncodeToString(got) != tc.want {
			t.Errorf("compact %d = %x, want %s", tc.n, got, tc.want)
		}
		d := NewDecoder(got)
		if v := d.Compact(); v != tc.n || d.Finish() != nil {
			t.Errorf("decode %s = %d, %v", tc.want, v, d.Finish())
		}
		if b := AppendCompactBig(nil, new(big.Int).SetUint64(tc.n)); hex.EncodeToString(b) != tc.want {
			t.Errorf("compact big %d = %x", tc.n, b)
		}
	}
}

func TestDecoderErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		read func(d *Decoder)
		want error
	}{
		{"short u32", "010203", func(d *Decoder) { d.U32() }, ErrShort},
		{"trailing", "0100", func(d *Decoder) { d.U8() }, ErrTrailing},
		{"bad bool", "02", func(d *Decoder) { d.Bool() }, ErrInvalid},
		{"bad option", "05", func(d *Decoder) { d.Option() }, ErrInvalid},
		{"non-canonical compact", "0100", func(d *Decoder) { d.Compact() }, ErrInvalid},
		{"huge length", "feffffff", func(d *Decoder) { d.VecU8() }, ErrShort},
		{"bad utf8", "04ff", func(d *Decoder) { _ = d.String() }, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tc.in)
			d := NewDecoder(b)
			tc.read(d)
			if err := d.Finish(); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzCompact(f *testing.F) {
	f.Add([]byte{0x00})
	f.Add([]byte{0x03, 0, 0, 0, 0x40})
	f.Add([]byte{0xff, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(b)
		v := d.CompactBig()
		if d.Err() != nil {
			return
		}
		// canonical encodings round-trip
		if got := AppendCompactBig(nil, v); string(got) != string(b[:d.Offset()]) {
			t.Fatalf("compact %x decoded to %s re-encodes as %x", b[:d.Offset()], v, got)
		}
	})
}
