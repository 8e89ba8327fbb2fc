package cpu

import "math/bits"

var iv = [8]uint64{
	0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
	0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
}

// paramBlock is the first parameter word of unkeyed BLAKE2b-512.
const paramBlock = 0x01010040

var sigma = [10][16]uint8{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
	{11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
	{7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
	{9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
	{2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
	{12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
	{13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
	{6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
	{10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
}

// Layout of the kernel parameter block.
const (
	offPre  = 0  // 16 words: state after the candidate-independent part of round 1
	offMsg  = 16 // 16 words: message words; word 0 without the table positions
	offWant = 32 // first digest word of the target xor h0
)

// params is what every kernel reads: see offPre, offMsg, offWant.
type params = [33]uint64

func g(v *[16]uint64, a, b, c, d int, x, y uint64) {
	v[a] += v[b] + x
	v[d] = bits.RotateLeft64(v[d]^v[a], -32)
	v[c] += v[d]
	v[b] = bits.RotateLeft64(v[b]^v[c], -24)
	v[a] += v[b] + y
	v[d] = bits.RotateLeft64(v[d]^v[a], -16)
	v[c] += v[d]
	v[b] = bits.RotateLeft64(v[b]^v[c], -63)
}

// prepare fills the parameter block for one batch: message words m (word 0
// without the table positions), message length msgLen (one final block) and
// the first 8 bytes of the target digest as a little-endian word.
func prepare(p *params, m *[16]uint64, msgLen int, target0 uint64) {
	var v [16]uint64
	copy(v[:8], iv[:])
	v[0] ^= paramBlock
	copy(v[8:], iv[:])
	v[12] ^= uint64(msgLen)
	v[14] = ^v[14]
	h0 := v[0]
	g(&v, 1, 5, 9, 13, m[2], m[3])
	g(&v, 2, 6, 10, 14, m[4], m[5])
	g(&v, 3, 7, 11, 15, m[6], m[7])
	v[0] += v[4]
	copy(p[offPre:offPre+16], v[:])
	copy(p[offMsg:offMsg+16], m[:])
	p[offWant] = target0 ^ h0
}

// scanGeneric is the portable kernel: it returns the first index i < n whose
// candidate (message word 0 = table[i] | p's word 0) has the wanted first
// digest word, or -1.
func scanGeneric(p *params, table []uint64, n int) int {
	var m [16]uint64
	copy(m[:], p[offMsg:offMsg+16])
	base := m[0]
	want := p[offWant]
	for i := 0; i < n; i++ {
		m[0] = base | table[i]
		var v [16]uint64
		copy(v[:], p[offPre:offPre+16])
		v[0] += m[0]
		// Rest of round 1, column 0 (its first addition is precomputed).
		v[12] = bits.RotateLeft64(v[12]^v[0], -32)
		v[8] += v[12]
		v[4] = bits.RotateLeft64(v[4]^v[8], -24)
		v[0] += v[4] + m[1]
		v[12] = bits.RotateLeft64(v[12]^v[0], -16)
		v[8] += v[12]
		v[4] = bits.RotateLeft64(v[4]^v[8], -63)
		for r := 0; r < 12; r++ {
			s := &sigma[r%10]
			if r > 0 {
				g(&v, 0, 4, 8, 12, m[s[0]], m[s[1]])
				g(&v, 1, 5, 9, 13, m[s[2]], m[s[3]])
				g(&v, 2, 6, 10, 14, m[s[4]], m[s[5]])
				g(&v, 3, 7, 11, 15, m[s[6]], m[s[7]])
			}
			g(&v, 0, 5, 10, 15, m[s[8]], m[s[9]])
			if r < 11 {
				g(&v, 1, 6, 11, 12, m[s[10]], m[s[11]])
			}
			g(&v, 2, 7, 8, 13, m[s[12]], m[s[13]])
			if r < 11 {
				g(&v, 3, 4, 9, 14, m[s[14]], m[s[15]])
			}
		}
		if v[0]^v[8] == want {
			return i
		}
	}
	return -1
}
