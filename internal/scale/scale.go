package scale

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"unicode/utf8"
)

// ErrShort is returned when the input ends before a value is complete.
var ErrShort = errors.New("scale: input too short")

// ErrTrailing is returned by Finish when bytes are left over.
var ErrTrailing = errors.New("scale: trailing bytes after value")

// ErrInvalid is returned for malformed encodings (bad bool, bad option tag, non-canonical compact, ...).
var ErrInvalid = errors.New("scale: invalid encoding")

// Decoder reads SCALE values from a byte slice. The first error sticks: every later
// read returns zero values, and Err/Finish report it with the offset where it happened.
type Decoder struct {
	b   []byte
	off int
	err error
}

// NewDecoder returns a decoder over b (b is not copied).
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Err returns the first error seen.
func (d *Decoder) Err() error { return d.err }

// Offset is the number of bytes consumed so far.
func (d *Decoder) Offset() int { return d.off }

// Remaining is the number of unread bytes.
func (d *Decoder) Remaining() int { return len(d.b) - d.off }

// Fail records err (wrapped with the current offset) unless an error is already set.
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("at byte %d of %d: %w", d.off, len(d.b), err)
	}
}

// Finish returns the first error, or ErrTrailing when bytes were left unread.
func (d *Decoder) Finish() error {
	if d.err != nil {
		return d.err
	}
	if d.off != len(d.b) {
		return fmt.Errorf("%w: %d of %d bytes unread", ErrTrailing, len(d.b)-d.off, len(d.b))
	}
	return nil
}

// Bytes reads exactly n raw bytes (a sub-slice of the input).
func (d *Decoder) Bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.off {
		d.Fail(fmt.Errorf("%w: need %d bytes, have %d", ErrShort, n, len(d.b)-d.off))
		return nil
	}
	v := d.b[d.off : d.off+n]
	d.off += n
	return v
}

// U8 reads one byte.
func (d *Decoder) U8() uint8 {
	b := d.Bytes(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// U16 reads a little-endian u16.
func (d *Decoder) U16() uint16 {
	b := d.Bytes(2)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(b)
}

// U32 reads a little-endian u32.
func (d *Decoder) U32() uint32 {
	b := d.Bytes(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

// U64 reads a little-endian u64.
func (d *Decoder) U64() uint64 {
	b := d.Bytes(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// U128 reads a little-endian u128 as a big.Int.
func (d *Decoder) U128() *big.Int { return d.uintN(16) }

func (d *Decoder) uintN(n int) *big.Int {
	b := d.Bytes(n)
	if b == nil {
		return new(big.Int)
	}
	be := make([]byte, n)
	for i := range b {
		be[n-1-i] = b[i]
	}
	return new(big.Int).SetBytes(be)
}

// U256 reads a little-endian u256 as a big.Int.
func (d *Decoder) U256() *big.Int { return d.uintN(32) }

// Bool reads a strict bool (0 or 1).
func (d *Decoder) Bool() bool {
	v := d.U8()
	if v > 1 {
		d.off--
		d.Fail(fmt.Errorf("%w: bool byte %#x", ErrInvalid, v))
		return false
	}
	return v == 1
}

// Option reads an Option tag and reports whether a value follows.
func (d *Decoder) Option() bool {
	v := d.U8()
	if v > 1 {
		d.off--
		d.Fail(fmt.Errorf("%w: option tag %#x", ErrInvalid, v))
		return false
	}
	return v == 1
}

// Compact reads a compact integer that must fit in a u64.
func (d *Decoder) Compact() uint64 {
	v := d.CompactBig()
	if d.err != nil {
		return 0
	}
	if !v.IsUint64() {
		d.Fail(fmt.Errorf("%w: compact value %s does not fit in 64 bits", ErrInvalid, v))
		return 0
	}
	return v.Uint64()
}

// CompactBig reads a compact integer of any size (up to 2^536).
func (d *Decoder) CompactBig() *big.Int {
	if d.err != nil {
		return new(big.Int)
	}
	start := d.off
	b0 := d.U8()
	if d.err != nil {
		return new(big.Int)
	}
	switch b0 & 3 {
	case 0:
		return big.NewInt(int64(b0 >> 2))
	case 1:
		b1 := d.U8()
		v := uint64(b0)>>2 | uint64(b1)<<6
		if d.err == nil && v < 1<<6 {
			d.off = start
			d.Fail(fmt.Errorf("%w: non-canonical compact %d", ErrInvalid, v))
		}
		return new(big.Int).SetUint64(v)
	case 2:
		rest := d.Bytes(3)
		if rest == nil {
			return new(big.Int)
		}
		v := uint64(b0)>>2 | uint64(rest[0])<<6 | uint64(rest[1])<<14 | uint64(rest[2])<<22
		if v < 1<<14 {
			d.off = start
			d.Fail(fmt.Errorf("%w: non-canonical compact %d", ErrInvalid, v))
		}
		return new(big.Int).SetUint64(v)
	default:
		n := int(b0>>2) + 4
		v := d.uintN(n)
		if d.err == nil && (v.BitLen() <= 30 || v.BitLen() <= (n-1)*8) {
			d.off = start
			d.Fail(fmt.Errorf("%w: non-canonical compact of %d bytes", ErrInvalid, n))
		}
		return v
	}
}

// Len reads a compact length prefix and checks that at least min*length bytes
// remain, so that hostile lengths cannot trigger huge allocations.
func (d *Decoder) Len(minElem int) int {
	n := d.Compact()
	if d.err != nil {
		return 0
	}
	if minElem < 1 {
		minElem = 1
	}
	if n > uint64(d.Remaining()/minElem) {
		d.Fail(fmt.Errorf("%w: length %d exceeds the %d bytes left", ErrShort, n, d.Remaining()))
		return 0
	}
	return int(n)
}

// VecU8 reads a compact-length-prefixed byte string.
func (d *Decoder) VecU8() []byte {
	n := d.Len(1)
	return d.Bytes(n)
}

// String reads a compact-length-prefixed UTF-8 string.
func (d *Decoder) String() string {
	b := d.VecU8()
	if d.err == nil && !utf8.Valid(b) {
		d.Fail(fmt.Errorf("%w: string is not UTF-8", ErrInvalid))
		return ""
	}
	return string(b)
}

// Array32 reads 32 raw bytes (AccountId32, H256).
func (d *Decoder) Array32() [32]byte {
	var a [32]byte
	copy(a[:], d.Bytes(32))
	return a
}

// AppendCompact appends n as a SCALE compact integer.
func AppendCompact(b []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n<<2))
	case n < 1<<14:
		return binary.LittleEndian.AppendUint16(b, uint16(n<<2|1))
	case n < 1<<30:
		return binary.LittleEndian.AppendUint32(b, uint32(n<<2|2))
	default:
		var tmp [8]byte
		binary.LittleEndian.PutUint64(tmp[:], n)
		l := 8
		for l > 4 && tmp[l-1] == 0 {
			l--
		}
		b = append(b, byte((l-4)<<2|3))
		return append(b, tmp[:l]...)
	}
}

// AppendCompactBig appends a non-negative big integer as a compact.
func AppendCompactBig(b []byte, n *big.Int) []byte {
	if n.IsUint64() {
		return AppendCompact(b, n.Uint64())
	}
	le := LittleEndian(n, (n.BitLen()+7)/8)
	b = append(b, byte((len(le)-4)<<2|3))
	return append(b, le...)
}

// LittleEndian returns n as exactly size little-endian bytes (truncating high bytes).
func LittleEndian(n *big.Int, size int) []byte {
	be := n.Bytes()
	out := make([]byte, size)
	for i := 0; i < size && i < len(be); i++ {
		out[i] = be[len(be)-1-i]
	}
	return out
}

// AppendU16 appends a little-endian u16.
func AppendU16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }

// AppendU32 appends a little-endian u32.
func AppendU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }

// AppendU64 appends a little-endian u64.
func AppendU64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

// AppendBool appends a bool byte.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendVecU8 appends a compact-length-prefixed byte string.
func AppendVecU8(b []byte, v []byte) []byte {
	return append(AppendCompact(b, uint64(len(v))), v...)
}
