package sharedstate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Record format, version 1 (all integers little-endian):
//
//	offset size
//	0      2    magic "CS"
//	2      1    version (1)
//	3      8    block the state was taken at (u64)
//	11     1    encoding: 0 dense bitmaps, 1 sparse uid lists
//	dense:  12 2 n (u16): uid count covered; then the leased bitmap and the
//	        penalised bitmap, ceil(n/8) bytes each, bit i of byte j = uid 8j+i
//	sparse: 12 2 leased count (u16), the leased uids (u16 each, strictly
//	        increasing), 2 penalised count, the penalised uids
//
// Encode picks the smaller encoding; a record never exceeds MaxSize, the
// Commitments pallet's room (three raw fields of 128 bytes).
const (
	Version    = 1
	MaxSize    = 3 * 128
	headerSize = 12

	encDense  = 0
	encSparse = 1
)

var magic = [2]byte{'C', 'S'}

// Record is one validator's published state.
type Record struct {
	// Block is the block the state was taken at; bits for a uid registered
	// after it are ignored by readers.
	Block uint64
	// Leased are the uids this validator has leased to renters (canary
	// leases are not counted); Penalised the uids it penalises. Both sorted,
	// without duplicates.
	Leased    []uint16
	Penalised []uint16
}

// Errors of Decode and Encode.
var (
	ErrNotRecord = errors.New("not a shared-state record")
	ErrMalformed = errors.New("malformed shared-state record")
	ErrTooLarge  = errors.New("shared-state record does not fit the chain's commitment space")
)

// Normalize sorts both lists and drops duplicates.
func (r Record) Normalize() Record {
	norm := func(s []uint16) []uint16 {
		s = slices.Clone(s)
		slices.Sort(s)
		return slices.Compact(s)
	}
	return Record{Block: r.Block, Leased: norm(r.Leased), Penalised: norm(r.Penalised)}
}

// Equal reports whether two records carry the same uids (blocks aside).
func (r Record) Equal(o Record) bool {
	a, b := r.Normalize(), o.Normalize()
	return slices.Equal(a.Leased, b.Leased) && slices.Equal(a.Penalised, b.Penalised)
}

// Encode returns the record's bytes, in the smaller of the two encodings.
func (r Record) Encode() ([]byte, error) {
	r = r.Normalize()
	head := make([]byte, 0, MaxSize)
	head = append(head, magic[0], magic[1], Version)
	head = binary.LittleEndian.AppendUint64(head, r.Block)

	sparse := append(slices.Clone(head), encSparse)
	for _, l := range [][]uint16{r.Leased, r.Penalised} {
		sparse = binary.LittleEndian.AppendUint16(sparse, uint16(len(l)))
		for _, u := range l {
			sparse = binary.LittleEndian.AppendUint16(sparse, u)
		}
	}
	n := 0
	if k := len(r.Leased); k > 0 {
		n = int(r.Leased[k-1]) + 1
	}
	if k := len(r.Penalised); k > 0 {
		n = max(n, int(r.Penalised[k-1])+1)
	}
	dense := append(slices.Clone(head), encDense)
	dense = binary.LittleEndian.AppendUint16(dense, uint16(n))
	for _, l := range [][]uint16{r.Leased, r.Penalised} {
		bm := make([]byte, (n+7)/8)
		for _, u := range l {
			bm[u/8] |= 1 << (u % 8)
		}
		dense = append(dense, bm...)
	}
	out := dense
	if len(sparse) < len(dense) {
		out = sparse
	}
	if len(out) > MaxSize {
		return nil, fmt.Errorf("%w: %d leased and %d penalised uids need %d bytes, the limit is %d",
			ErrTooLarge, len(r.Leased), len(r.Penalised), len(out), MaxSize)
	}
	return out, nil
}

// Decode parses a record, refusing anything but a well-formed version 1
// record of at most MaxSize bytes (trailing bytes included).
func Decode(b []byte) (Record, error) {
	if len(b) < 3 || b[0] != magic[0] || b[1] != magic[1] {
		return Record{}, ErrNotRecord
	}
	if b[2] != Version {
		return Record{}, fmt.Errorf("%w: version %d (this build reads %d)", ErrMalformed, b[2], Version)
	}
	if len(b) > MaxSize {
		return Record{}, fmt.Errorf("%w: %d bytes, over the %d-byte limit", ErrMalformed, len(b), MaxSize)
	}
	if len(b) < headerSize+2 {
		return Record{}, fmt.Errorf("%w: %d bytes, shorter than the header", ErrMalformed, len(b))
	}
	r := Record{Block: binary.LittleEndian.Uint64(b[3:11])}
	body := b[headerSize:]
	switch b[11] {
	case encDense:
		n := int(binary.LittleEndian.Uint16(body))
		size := (n + 7) / 8
		body = body[2:]
		if len(body) != 2*size {
			return Record{}, fmt.Errorf("%w: dense record for %d uids has %d bitmap bytes, want %d", ErrMalformed, n, len(body), 2*size)
		}
		for i, dst := range []*[]uint16{&r.Leased, &r.Penalised} {
			bm := body[i*size : (i+1)*size]
			for u := 0; u < size*8; u++ {
				if bm[u/8]&(1<<(u%8)) == 0 {
					continue
				}
				if u >= n {
					return Record{}, fmt.Errorf("%w: bit for uid %d beyond the %d uids covered", ErrMalformed, u, n)
				}
				*dst = append(*dst, uint16(u))
			}
		}
	case encSparse:
		for _, dst := range []*[]uint16{&r.Leased, &r.Penalised} {
			if len(body) < 2 {
				return Record{}, fmt.Errorf("%w: sparse record truncated", ErrMalformed)
			}
			k := int(binary.LittleEndian.Uint16(body))
			body = body[2:]
			if len(body) < 2*k {
				return Record{}, fmt.Errorf("%w: sparse list of %d uids truncated", ErrMalformed, k)
			}
			for i := 0; i < k; i++ {
				u := binary.LittleEndian.Uint16(body[2*i:])
				if i > 0 && u <= (*dst)[i-1] {
					return Record{}, fmt.Errorf("%w: uids not strictly increasing", ErrMalformed)
				}
				*dst = append(*dst, u)
			}
			body = body[2*k:]
		}
		if len(body) != 0 {
			return Record{}, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(body))
		}
	default:
		return Record{}, fmt.Errorf("%w: unknown encoding %d", ErrMalformed, b[11])
	}
	return r, nil
}
