package reveal

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/tlock"
)

// MaxCommitSize is the largest commit the chain accepts (its
// MAX_CRV3_COMMIT_SIZE_BYTES).
const MaxCommitSize = 5000

// Sealed is a weights row encrypted to the beacon round the chain reveals it at.
type Sealed struct {
	Ciphertext  []byte `json:"ciphertext"`
	RevealRound uint64 `json:"reveal_round"`
	RevealBlock uint64 `json:"reveal_block"`
}

// Seal encodes hotkey's weights row and timelocks it to the round RevealRound
// computes for a commit prepared now at info.Block, under info.Beacon's key.
// rand supplies the encryption's randomness (crypto/rand.Reader in use).
func Seal(rand io.Reader, info *chain.WeightsInfo, hotkey [32]byte, uids, values []uint16, versionKey uint64, now time.Time) (Sealed, error) {
	if len(uids) != len(values) {
		return Sealed{}, fmt.Errorf("seal weights: %d uids but %d values: %w", len(uids), len(values), chain.ErrInvalidWeights)
	}
	if len(uids) > MaxEntries {
		return Sealed{}, fmt.Errorf("seal weights: %d entries exceed %d: %w", len(uids), MaxEntries, chain.ErrInvalidWeights)
	}
	round, block, err := RevealRound(info, now)
	if err != nil {
		return Sealed{}, fmt.Errorf("seal weights: %w", err)
	}
	if len(info.Beacon.PublicKey) == 0 {
		return Sealed{}, errors.New("seal weights: weights info names no beacon public key")
	}
	msg := Payload{Hotkey: hotkey, UIDs: uids, Values: values, VersionKey: versionKey}.Encode()
	ct, err := tlock.Encrypt(rand, info.Beacon.PublicKey, round, msg)
	if err != nil {
		return Sealed{}, fmt.Errorf("seal weights to round %d: %w", round, err)
	}
	if len(ct) > MaxCommitSize {
		return Sealed{}, fmt.Errorf("seal weights: %d-byte commit for %d uids: %w", len(ct), len(uids), chain.ErrCommitTooLarge)
	}
	return Sealed{Ciphertext: ct, RevealRound: round, RevealBlock: block}, nil
}

// Open decrypts a commit with its round's beacon signature and decodes the
// weights payload inside.
func Open(signature, ciphertext []byte) (Payload, error) {
	msg, err := tlock.Decrypt(signature, ciphertext)
	if err != nil {
		return Payload{}, fmt.Errorf("the commit cannot be opened with this signature: %w", err)
	}
	p, err := DecodePayload(msg)
	if err != nil {
		return Payload{}, fmt.Errorf("the commit opened but holds no weights payload: %w", err)
	}
	return p, nil
}
