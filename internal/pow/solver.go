package pow

import (
	"context"
	"errors"
)

// Challenge is a proof-of-work challenge as it travels in the Challenge synapse.
type Challenge struct {
	Hash       string `json:"challenge_hash"`       // "$BLAKE2$" + 128 hex chars
	Salt       string `json:"challenge_salt"`       // 16 hex chars
	Mode       string `json:"challenge_mode"`       // "610"
	Chars      string `json:"challenge_chars"`      // custom charset ?1
	Mask       string `json:"challenge_mask"`       // hashcat mask, e.g. "?1?1?1?1?1?1?1"
	Difficulty int    `json:"challenge_difficulty"` // password length
}

// Job is a validated challenge in the form solvers work on: the target digest,
// the salt bytes and the candidate characters of every password position.
type Job struct {
	Target   [64]byte
	Salt     []byte
	Charsets [][]byte // one charset per password position, in order
}

// Keyspace returns the number of candidates (saturating at 1<<63).
func (j *Job) Keyspace() uint64 {
	var n uint64 = 1
	for _, cs := range j.Charsets {
		l := uint64(len(cs))
		if l == 0 {
			return 0
		}
		if n > (1<<63)/l {
			return 1 << 63
		}
		n *= l
	}
	return n
}

// Solver cracks challenges. Implementations must return promptly when ctx is done.
type Solver interface {
	// Name is the solver's short name ("cpu", "hashcat", "cuda").
	Name() string
	// Solve returns the password whose hash matches the job, ErrNotFound when the
	// keyspace is exhausted, or ctx.Err() wrapped when cancelled.
	Solve(ctx context.Context, job *Job) (string, error)
	// Close releases resources held between challenges.
	Close() error
}

var (
	// ErrNotFound means the whole keyspace was searched without a match.
	ErrNotFound = errors.New("pow: password not found in keyspace")
	// ErrUnavailable means a solver cannot run on this machine (no driver, no binary).
	ErrUnavailable = errors.New("pow: solver unavailable")
	// ErrInvalidChallenge is wrapped by every challenge validation error.
	ErrInvalidChallenge = errors.New("pow: invalid challenge")
)
