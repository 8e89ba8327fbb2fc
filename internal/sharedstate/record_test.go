package sharedstate

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func seq(from, to int) []uint16 {
	var s []uint16
	for i := from; i < to; i++ {
		s = append(s, uint16(i))
	}
	return s
}

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		rec     Record
		maxSize int
		enc     byte
	}{
		{"empty", Record{Block: 7}, 16, encDense},
		{"few uids sparse", Record{Block: 1 << 40, Leased: []uint16{200, 3}, Penalised: []uint16{255}}, 24, encSparse},
		{"many uids dense", Record{Block: 99, Leased: seq(0, 128), Penalised: seq(100, 256)}, 14 + 64, encDense},
		{"duplicates dropped", Record{Block: 5, Leased: []uint16{4, 4, 1}}, 20, encDense},
		{"4096-uid subnet, sparse", Record{Block: 1, Leased: []uint16{4095, 17}, Penalised: []uint16{2048}}, 24, encSparse},
		{"1400 dense uids", Record{Block: 1, Leased: seq(0, 1400)}, MaxSize, encDense},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.rec.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > tc.maxSize || b[11] != tc.enc {
				t.Fatalf("%d bytes in encoding %d, want at most %d in %d", len(b), b[11], tc.maxSize, tc.enc)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.rec.Normalize()
			if got.Block != want.Block || !slices.Equal(got.Leased, want.Leased) || !slices.Equal(got.Penalised, want.Penalised) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestRecordTooLarge(t *testing.T) {
	// 200 scattered uids over a 4096-uid subnet fit neither encoding.
	var l []uint16
	for i := 0; i < 200; i++ {
		l = append(l, uint16(i*20))
	}
	if _, err := (Record{Leased: l}).Encode(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
}

func TestDecodeRefuses(t *testing.T) {
	good, _ := Record{Block: 3, Leased: []uint16{1, 2}}.Encode()
	dense, _ := Record{Block: 3, Leased: seq(0, 64)}.Encode()
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrNotRecord},
		{"other commitment", []byte("ipfs://Qm..."), ErrNotRecord},
		{"version 2", append([]byte("CS\x02"), good[3:]...), ErrMalformed},
		{"short header", good[:10], ErrMalformed},
		{"oversized", append(slices.Clone(dense), make([]byte, MaxSize)...), ErrMalformed},
		{"trailing byte sparse", append(slices.Clone(good), 0), ErrMalformed},
		{"truncated sparse list", good[:len(good)-1], ErrMalformed},
		{"dense length mismatch", dense[:len(dense)-1], ErrMalformed},
		{"unknown encoding", append(append(slices.Clone(good[:11]), 9), good[12:]...), ErrMalformed},
		{"not increasing", []byte{'C', 'S', 1, 0, 0, 0, 0, 0, 0, 0, 0, encSparse, 2, 0, 5, 0, 5, 0, 0, 0}, ErrMalformed},
		{"bit beyond n", []byte{'C', 'S', 1, 0, 0, 0, 0, 0, 0, 0, 0, encDense, 3, 0, 0x80, 0}, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Decode(tc.b); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, r := range []Record{{}, {Block: 9, Leased: []uint16{1, 300}}, {Leased: seq(0, 70), Penalised: seq(5, 9)}} {
		b, _ := r.Encode()
		f.Add(b)
	}
	f.Add([]byte("CS\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrNotRecord) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// What decodes re-encodes to a record that decodes to the same.
		again, err := rec.Encode()
		if err != nil {
			t.Fatalf("decoded record does not encode: %v", err)
		}
		back, err := Decode(again)
		if err != nil || back.Block != rec.Block || !slices.Equal(back.Leased, rec.Leased) || !slices.Equal(back.Penalised, rec.Penalised) {
			t.Fatalf("round trip %+v -> %x -> %+v, %v", rec, again, back, err)
		}
		if len(b) <= MaxSize && bytes.Equal(b, again) == false && len(again) > len(b) {
			t.Fatalf("re-encoding grew: %d -> %d bytes", len(b), len(again))
		}
	})
}
