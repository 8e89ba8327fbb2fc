package reveal

import (
	"errors"
	"fmt"

	"github.com/sn27/compute/internal/scale"
)

// MaxEntries bounds the uids (and values) a payload may carry: uids are u16,
// so a valid row never has more.
const MaxEntries = 1 << 16

// ErrBadPayload marks bytes that are not a weights payload.
var ErrBadPayload = errors.New("reveal: not a valid weights payload")

// Payload is what a timelocked commit encrypts: the committing hotkey's
// public key and the weights row it sets, in the SCALE layout
// WeightsTlockPayload { hotkey: Vec<u8>, uids: Vec<u16>, values: Vec<u16>,
// version_key: u64 }.
type Payload struct {
	Hotkey     [32]byte
	UIDs       []uint16
	Values     []uint16
	VersionKey uint64
}

// Encode returns the SCALE encoding of p.
func (p Payload) Encode() []byte {
	b := make([]byte, 0, 1+32+2*(5+2*len(p.UIDs))+8)
	b = scale.AppendCompact(b, 32)
	b = append(b, p.Hotkey[:]...)
	b = appendU16s(b, p.UIDs)
	b = appendU16s(b, p.Values)
	return scale.AppendU64(b, p.VersionKey)
}

func appendU16s(b []byte, v []uint16) []byte {
	b = scale.AppendCompact(b, uint64(len(v)))
	for _, x := range v {
		b = scale.AppendU16(b, x)
	}
	return b
}

// DecodePayload parses an encoded payload strictly: the hotkey must be 32
// bytes, uids and values of equal length, and no bytes may follow.
func DecodePayload(b []byte) (Payload, error) {
	d := scale.NewDecoder(b)
	var p Payload
	hk := d.VecU8()
	if d.Err() == nil && len(hk) != 32 {
		return Payload{}, fmt.Errorf("%w: hotkey is %d bytes, want 32", ErrBadPayload, len(hk))
	}
	copy(p.Hotkey[:], hk)
	p.UIDs = readU16s(d, "uids")
	p.Values = readU16s(d, "values")
	p.VersionKey = d.U64()
	if err := d.Finish(); err != nil {
		return Payload{}, fmt.Errorf("%w: %w", ErrBadPayload, err)
	}
	if len(p.UIDs) != len(p.Values) {
		return Payload{}, fmt.Errorf("%w: %d uids but %d values", ErrBadPayload, len(p.UIDs), len(p.Values))
	}
	return p, nil
}

func readU16s(d *scale.Decoder, what string) []uint16 {
	n := d.Len(2)
	if d.Err() != nil {
		return nil
	}
	if n > MaxEntries {
		d.Fail(fmt.Errorf("%s: %d entries exceed %d", what, n, MaxEntries))
		return nil
	}
	v := make([]uint16, n)
	for i := range v {
		v[i] = d.U16()
	}
	return v
}
