package tlock

import (
	"encoding/binary"
	"fmt"
)

// cipherSuite is the identifier tle's AES-GCM stream cipher writes into
// every ciphertext.
const cipherSuite = "AES_GCM_"

// Sizes of the fixed parts of the format.
const (
	lenPrefix  = 8  // an arkworks Vec<u8> starts with its length as u64 little-endian
	hashSize   = 32 // v and w
	nonceSize  = 12 // AES-GCM nonce
	tagSize    = 16 // AES-GCM tag, appended to the ciphertext
	headerSize = PublicKeySize + 2*(lenPrefix+hashSize)
	// Overhead is the number of bytes a ciphertext adds to its message.
	Overhead = headerSize + lenPrefix + (lenPrefix + tagSize + lenPrefix + nonceSize) + lenPrefix + len(cipherSuite)
)

// MaxMessageSize bounds what Encrypt accepts and Decrypt will open. The
// chain caps a commit at a few kilobytes; the bound only keeps hostile
// length prefixes from costing memory.
const MaxMessageSize = 64 << 10

// ciphertext is tle's TLECiphertext with its IBE header and AES-GCM body
// (AESOutput) flattened.
type ciphertext struct {
	u      []byte // compressed G2, r·G2
	v      []byte // sigma xor H2(e(Q_id, r·P_pub))
	w      []byte // AES key xor H4(sigma)
	sealed []byte // AES-GCM ciphertext with its tag
	nonce  []byte
	suite  []byte
}

// marshal writes the arkworks canonical encoding:
//
//	u (96) | len v | v | len w | w | len body | body | len suite | suite
//	body = len sealed | sealed | len nonce | nonce
func (c *ciphertext) marshal() []byte {
	bodyLen := lenPrefix + len(c.sealed) + lenPrefix + len(c.nonce)
	out := make([]byte, 0, len(c.u)+3*lenPrefix+len(c.v)+len(c.w)+bodyLen+lenPrefix+len(c.suite))
	out = append(out, c.u...)
	out = appendVec(out, c.v)
	out = appendVec(out, c.w)
	out = binary.LittleEndian.AppendUint64(out, uint64(bodyLen))
	out = appendVec(out, c.sealed)
	out = appendVec(out, c.nonce)
	out = appendVec(out, c.suite)
	return out
}

func appendVec(out, b []byte) []byte {
	out = binary.LittleEndian.AppendUint64(out, uint64(len(b)))
	return append(out, b...)
}

// reader walks an encoded ciphertext; every read is bounds-checked.
type reader struct {
	b   []byte
	off int
}

func (r *reader) take(n int, what string) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.off {
		return nil, fmt.Errorf("%w: %s needs %d bytes at offset %d, %d left", ErrMalformed, what, n, r.off, len(r.b)-r.off)
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s, nil
}

// vec reads a u64-length-prefixed byte string of at most max bytes.
func (r *reader) vec(what string, max int) ([]byte, error) {
	p, err := r.take(lenPrefix, what+" length")
	if err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint64(p)
	if n > uint64(max) {
		return nil, fmt.Errorf("%w: %s length %d exceeds %d", ErrMalformed, what, n, max)
	}
	return r.take(int(n), what)
}

// exact reads a u64-length-prefixed byte string that must be n bytes long.
func (r *reader) exact(what string, n int) ([]byte, error) {
	b, err := r.vec(what, n)
	if err != nil {
		return nil, err
	}
	if len(b) != n {
		return nil, fmt.Errorf("%w: %s is %d bytes, want %d", ErrMalformed, what, len(b), n)
	}
	return b, nil
}

func (r *reader) done(what string) error {
	if r.off != len(r.b) {
		return fmt.Errorf("%w: %d trailing bytes after %s", ErrMalformed, len(r.b)-r.off, what)
	}
	return nil
}

// unmarshalCiphertext decodes and checks the layout; points are checked by
// the caller.
func unmarshalCiphertext(b []byte) (*ciphertext, error) {
	var c ciphertext
	r := reader{b: b}
	var err error
	if c.u, err = r.take(PublicKeySize, "header point U"); err != nil {
		return nil, err
	}
	if c.v, err = r.exact("header V", hashSize); err != nil {
		return nil, err
	}
	if c.w, err = r.exact("header W", hashSize); err != nil {
		return nil, err
	}
	body, err := r.vec("body", lenPrefix+MaxMessageSize+tagSize+lenPrefix+nonceSize)
	if err != nil {
		return nil, err
	}
	if c.suite, err = r.vec("cipher suite", 64); err != nil {
		return nil, err
	}
	if err := r.done("cipher suite"); err != nil {
		return nil, err
	}
	if string(c.suite) != cipherSuite {
		return nil, fmt.Errorf("%w: cipher suite %q, want %q", ErrMalformed, c.suite, cipherSuite)
	}
	br := reader{b: body}
	if c.sealed, err = br.vec("body ciphertext", MaxMessageSize+tagSize); err != nil {
		return nil, err
	}
	if len(c.sealed) < tagSize {
		return nil, fmt.Errorf("%w: body ciphertext is %d bytes, shorter than the %d-byte tag", ErrMalformed, len(c.sealed), tagSize)
	}
	if c.nonce, err = br.exact("body nonce", nonceSize); err != nil {
		return nil, err
	}
	if err := br.done("body nonce"); err != nil {
		return nil, err
	}
	return &c, nil
}
