package cuda

import (
	"crypto/subtle"

	"golang.org/x/crypto/blake2b"

	"github.com/sn27/compute/internal/pow"
)

// checkHash reports whether BLAKE2b-512(password . salt) is the job's target.
func checkHash(job *pow.Job, password []byte) bool {
	h, _ := blake2b.New512(nil)
	h.Write(password)
	h.Write(job.Salt)
	return subtle.ConstantTimeCompare(h.Sum(nil), job.Target[:]) == 1
}

// sum512 returns BLAKE2b-512(password . salt).
func sum512(password, salt []byte) [64]byte {
	return blake2b.Sum512(append(append([]byte(nil), password...), salt...))
}
