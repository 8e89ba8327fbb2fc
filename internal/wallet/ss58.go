package wallet

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/blake2b"
)

// DefaultSS58Prefix is the address prefix Bittensor uses (generic Substrate).
const DefaultSS58Prefix = 42

// ErrInvalidAddress is returned for strings that are not valid SS58 addresses.
var ErrInvalidAddress = errors.New("wallet: invalid SS58 address")

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var ss58Pre = []byte("SS58PRE")

func ss58Checksum(data []byte) []byte {
	h, _ := blake2b.New512(nil)
	h.Write(ss58Pre)
	h.Write(data)
	return h.Sum(nil)[:2]
}

// encodePrefix returns the SS58 prefix bytes (one byte below 64, two bytes up to 16383).
func encodePrefix(prefix uint16) ([]byte, error) {
	switch {
	case prefix < 64:
		return []byte{byte(prefix)}, nil
	case prefix < 16384:
		first := byte((prefix&0xfc)>>2) | 0x40
		second := byte(prefix>>8) | byte((prefix&0x03)<<6)
		return []byte{first, second}, nil
	default:
		return nil, fmt.Errorf("wallet: SS58 prefix %d out of range (0..16383)", prefix)
	}
}

// SS58Encode encodes a 32-byte public key as an SS58 address with the given prefix.
func SS58Encode(pub []byte, prefix uint16) (string, error) {
	if len(pub) != 32 {
		return "", fmt.Errorf("wallet: public key must be 32 bytes, got %d", len(pub))
	}
	pre, err := encodePrefix(prefix)
	if err != nil {
		return "", err
	}
	data := append(append([]byte{}, pre...), pub...)
	data = append(data, ss58Checksum(data)...)
	return base58Encode(data), nil
}

// SS58Decode decodes an SS58 address of any prefix, verifies its checksum and
// returns the 32-byte public key and the prefix.
func SS58Decode(addr string) (pub [32]byte, prefix uint16, err error) {
	raw, err := base58Decode(addr)
	if err != nil {
		return pub, 0, fmt.Errorf("%w: %q: %v", ErrInvalidAddress, addr, err)
	}
	if len(raw) < 1 {
		return pub, 0, fmt.Errorf("%w: %q is empty", ErrInvalidAddress, addr)
	}
	preLen := 1
	if raw[0]&0x40 != 0 {
		if raw[0] >= 128 {
			return pub, 0, fmt.Errorf("%w: %q has a reserved prefix byte", ErrInvalidAddress, addr)
		}
		preLen = 2
		if len(raw) < 2 {
			return pub, 0, fmt.Errorf("%w: %q is too short", ErrInvalidAddress, addr)
		}
		lower := (raw[0]<<2)&0xfc | raw[1]>>6
		upper := raw[1] & 0x3f
		prefix = uint16(lower) | uint16(upper)<<8
	} else {
		prefix = uint16(raw[0])
	}
	if len(raw) != preLen+32+2 {
		return pub, 0, fmt.Errorf("%w: %q decodes to %d bytes, want %d", ErrInvalidAddress, addr, len(raw), preLen+34)
	}
	body := raw[:preLen+32]
	if !bytes.Equal(ss58Checksum(body), raw[preLen+32:]) {
		return pub, 0, fmt.Errorf("%w: %q has a bad checksum", ErrInvalidAddress, addr)
	}
	copy(pub[:], raw[preLen:preLen+32])
	return pub, prefix, nil
}

// PublicKeyFromSS58 decodes an address and returns its public key, ignoring the prefix.
func PublicKeyFromSS58(addr string) ([32]byte, error) {
	pub, _, err := SS58Decode(addr)
	return pub, err
}

func base58Encode(b []byte) string {
	x := new(big.Int).SetBytes(b)
	base := big.NewInt(58)
	mod := new(big.Int)
	var out []byte
	for x.Sign() > 0 {
		x.DivMod(x, base, mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	for _, c := range b {
		if c != 0 {
			break
		}
		out = append(out, base58Alphabet[0])
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

func base58Decode(s string) ([]byte, error) {
	if len(s) == 0 || len(s) > 128 {
		return nil, errors.New("bad length")
	}
	x := new(big.Int)
	base := big.NewInt(58)
	for i := 0; i < len(s); i++ {
		idx := bytes.IndexByte([]byte(base58Alphabet), s[i])
		if idx < 0 {
			return nil, fmt.Errorf("invalid base58 character %q", s[i])
		}
		x.Mul(x, base)
		x.Add(x, big.NewInt(int64(idx)))
	}
	out := x.Bytes()
	zeros := 0
	for zeros < len(s) && s[zeros] == base58Alphabet[0] {
		zeros++
	}
	return append(make([]byte, zeros), out...), nil
}
