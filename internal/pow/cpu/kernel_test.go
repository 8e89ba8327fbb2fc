package cpu

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/blake2b"
)

// TestKernelsMatchBlake2b checks every kernel against x/crypto/blake2b on
// random messages of every length up to one block.
func TestKernelsMatchBlake2b(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range kernels() {
		t.Run(k.name, func(t *testing.T) {
			for msgLen := 1; msgLen <= blockSize; msgLen++ {
				msg := make([]byte, msgLen)
				for i := range msg {
					msg[i] = byte(rng.UintN(256))
				}
				var m [16]uint64
				for i, b := range msg {
					m[i/8] |= uint64(b) << (8 * (i % 8))
				}
				// Table entries vary the low bytes of word 0 that the message holds.
				mask := ^uint64(0)
				if msgLen < 8 {
					mask = 1<<(8*msgLen) - 1
				}
				const n = 64
				table := make([]uint64, n)
				for i := range table {
					table[i] = rng.Uint64() & mask
				}
				base := m[0] &^ mask
				hit := rng.IntN(n)
				msg0 := base | table[hit]
				full := make([]byte, msgLen)
				copy(full, msg)
				var w [8]byte
				binary.LittleEndian.PutUint64(w[:], msg0)
				copy(full, w[:min(8, msgLen)])
				sum := blake2b.Sum512(full)
				mm := m
				mm[0] = base
				var p params
				prepare(&p, &mm, msgLen, binary.LittleEndian.Uint64(sum[:8]))
				got := k.scan(&p, table, n, (msgLen+7)/8)
				if got < 0 || got > hit || table[got] != table[hit] && got != hit {
					t.Fatalf("len %d: scan = %d, want %d", msgLen, got, hit)
				}
				// A digest not in the table is not found.
				prepare(&p, &mm, msgLen, binary.LittleEndian.Uint64(sum[:8])^1)
				if got := k.scan(&p, table, n, (msgLen+7)/8); got != -1 {
					t.Fatalf("len %d: scan for a missing digest = %d, want -1", msgLen, got)
				}
			}
		})
	}
}

func BenchmarkKernel(b *testing.B) {
	for _, k := range kernels() {
		b.Run(k.name, func(b *testing.B) {
			var m [16]uint64
			m[1], m[2] = 0x3031323334353637, 0x6162636465666768
			var p params
			prepare(&p, &m, 23, 0x1234)
			table := make([]uint64, 4096)
			for i := range table {
				table[i] = uint64(i) * 0x0101
			}
			b.ResetTimer()
			for b.Loop() {
				k.scan(&p, table, len(table), 3)
			}
			b.ReportMetric(float64(b.N)*float64(len(table))/b.Elapsed().Seconds()/1e6, "MH/s/core")
		})
	}
}
