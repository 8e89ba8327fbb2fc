package metadata

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"golang.org/x/crypto/blake2b"
)

const (
	prime64_1 uint64 = 11400714785074694791
	prime64_2 uint64 = 14029467366897019727
	prime64_3 uint64 = 1609587929392839161
	prime64_4 uint64 = 9650029242287828579
	prime64_5 uint64 = 2870177450012600261
)

func xxRound(acc, input uint64) uint64 {
	acc += input * prime64_2
	acc = bits.RotateLeft64(acc, 31)
	return acc * prime64_1
}

func xxMerge(acc, val uint64) uint64 {
	val = xxRound(0, val)
	acc ^= val
	return acc*prime64_1 + prime64_4
}

// XXHash64 is the 64-bit xxHash of b with the given seed.
func XXHash64(b []byte, seed uint64) uint64 {
	n := len(b)
	var h uint64
	if n >= 32 {
		v1 := seed + prime64_1 + prime64_2
		v2 := seed + prime64_2
		v3 := seed
		v4 := seed - prime64_1
		for len(b) >= 32 {
			v1 = xxRound(v1, binary.LittleEndian.Uint64(b[0:]))
			v2 = xxRound(v2, binary.LittleEndian.Uint64(b[8:]))
			v3 = xxRound(v3, binary.LittleEndian.Uint64(b[16:]))
			v4 = xxRound(v4, binary.LittleEndian.Uint64(b[24:]))
			b = b[32:]
		}
		h = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) + bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		h = xxMerge(h, v1)
		h = xxMerge(h, v2)
		h = xxMerge(h, v3)
		h = xxMerge(h, v4)
	} else {
		h = seed + prime64_5
	}
	h += uint64(n)
	for len(b) >= 8 {
		k := xxRound(0, binary.LittleEndian.Uint64(b))
		h ^= k
		h = bits.RotateLeft64(h, 27)*prime64_1 + prime64_4
		b = b[8:]
	}
	if len(b) >= 4 {
		h ^= uint64(binary.LittleEndian.Uint32(b)) * prime64_1
		h = bits.RotateLeft64(h, 23)*prime64_2 + prime64_3
		b = b[4:]
	}
	for _, c := range b {
		h ^= uint64(c) * prime64_5
		h = bits.RotateLeft64(h, 11) * prime64_1
	}
	h ^= h >> 33
	h *= prime64_2
	h ^= h >> 29
	h *= prime64_3
	h ^= h >> 32
	return h
}

// Twox appends the twox hash of b with size/8 rounds (size 64, 128 or 256 bits).
func Twox(dst, b []byte, size int) []byte {
	for seed := 0; seed < size/64; seed++ {
		dst = binary.LittleEndian.AppendUint64(dst, XXHash64(b, uint64(seed)))
	}
	return dst
}

// Blake2 returns the blake2b hash of b with an output of size bytes.
func Blake2(b []byte, size int) []byte {
	h, err := blake2b.New(size, nil)
	if err != nil {
		panic(err) // size is one of our constants
	}
	h.Write(b)
	return h.Sum(nil)
}

// Hash appends encoded key k hashed with h.
func (h Hasher) Hash(dst, k []byte) []byte {
	switch h {
	case Blake2_128:
		return append(dst, Blake2(k, 16)...)
	case Blake2_256:
		return append(dst, Blake2(k, 32)...)
	case Blake2_128Concat:
		return append(append(dst, Blake2(k, 16)...), k...)
	case Twox128:
		return Twox(dst, k, 128)
	case Twox256:
		return Twox(dst, k, 256)
	case Twox64Concat:
		return append(Twox(dst, k, 64), k...)
	default:
		return append(dst, k...)
	}
}

// StoragePrefix returns twox128(pallet) ++ twox128(item).
func StoragePrefix(pallet, item string) []byte {
	return Twox(Twox(nil, []byte(pallet), 128), []byte(item), 128)
}

// StorageKey builds the key of pallet.item for the given key values (one per hasher), encoded
// through the entry's key types. Fewer keys than hashers give a prefix for iteration.
func (m *Metadata) StorageKey(pallet, item string, keys ...any) ([]byte, *StorageEntry, error) {
	p, e, err := m.Storage(pallet, item)
	if err != nil {
		return nil, nil, err
	}
	if len(keys) > len(e.Hashers) {
		return nil, nil, fmt.Errorf("storage %s.%s takes %d keys, got %d", pallet, item, len(e.Hashers), len(keys))
	}
	keyTypes := []uint32{e.Key}
	if len(e.Hashers) > 1 {
		t := m.Types[e.Key]
		if t.Kind != KindTuple || len(t.Tuple) != len(e.Hashers) {
			return nil, nil, fmt.Errorf("storage %s.%s: key type does not match its %d hashers", pallet, item, len(e.Hashers))
		}
		keyTypes = t.Tuple
	}
	out := StoragePrefix(p.StoragePrefix, e.Name)
	for i, k := range keys {
		enc, err := m.Encode(nil, keyTypes[i], k)
		if err != nil {
			return nil, nil, fmt.Errorf("storage %s.%s key %d: %w", pallet, item, i, err)
		}
		out = e.Hashers[i].Hash(out, enc)
	}
	return out, e, nil
}
