package reveal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
)

func TestPayloadEncode(t *testing.T) {
	var hk [32]byte
	for i := range hk {
		hk[i] = byte(i)
	}
	p := Payload{Hotkey: hk, UIDs: []uint16{1, 300}, Values: []uint16{65535, 2}, VersionKey: 142}
	// Vec<u8> of 32: compact 0x80; Vec<u16> of 2: 0x08; u64 LE.
	want := "80" + hex.EncodeToString(hk[:]) + "08" + "0100" + "2c01" + "08" + "ffff" + "0200" + "8e00000000000000"
	if got := hex.EncodeToString(p.Encode()); got != want {
		t.Fatalf("encode = %s\nwant     %s", got, want)
	}
	back, err := DecodePayload(p.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if back.Hotkey != p.Hotkey || !slices.Equal(back.UIDs, p.UIDs) || !slices.Equal(back.Values, p.Values) || back.VersionKey != p.VersionKey {
		t.Fatalf("round trip = %+v, want %+v", back, p)
	}
}

func TestDecodePayloadRejects(t *testing.T) {
	good := Payload{UIDs: []uint16{1}, Values: []uint16{2}, VersionKey: 1}.Encode()
	hk31 := append([]byte{31 << 2}, make([]byte, 31)...)
	cases := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"trailing byte", append(slices.Clone(good), 0)},
		{"truncated", good[:len(good)-1]},
		{"hotkey of 31 bytes", append(hk31, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)},
		{"length mismatch", Payload{UIDs: []uint16{1, 2}, Values: []uint16{2}}.Encode()},
		{"huge length", append(append([]byte{0x80}, make([]byte, 32)...), 0x03, 0xff, 0xff, 0xff, 0xff)},
	}
	for _, c := range cases {
		if _, err := DecodePayload(c.b); !errors.Is(err, ErrBadPayload) {
			t.Errorf("%s: err = %v, want ErrBadPayload", c.name, err)
		}
	}
}

func FuzzDecodePayload(f *testing.F) {
	f.Add(Payload{UIDs: []uint16{1, 2}, Values: []uint16{3, 4}, VersionKey: 9}.Encode())
	f.Add(Payload{}.Encode())
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePayload(b)
		if err != nil {
			return
		}
		if len(p.UIDs) != len(p.Values) {
			t.Fatal("accepted unequal lengths")
		}
		if !bytes.Equal(p.Encode(), b) {
			t.Fatalf("accepted input does not re-encode to itself: %x", b)
		}
	})
}
