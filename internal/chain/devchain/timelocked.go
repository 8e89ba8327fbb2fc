package devchain

import (
	"context"
	"errors"

	"github.com/sn27/compute/internal/chain"
)

// errTimelockPending is returned until the dev chain models timelocked commits.
var errTimelockPending = errors.New("devchain: timelocked weights are not modelled yet")

// WeightsInfo reads how hotkey must send weights on netuid.
func (c *Chain) WeightsInfo(ctx context.Context, netuid uint16, hotkey string) (*chain.WeightsInfo, error) {
	return nil, errTimelockPending
}

// TimelockedCommits lists hotkey's unrevealed commits.
func (c *Chain) TimelockedCommits(ctx context.Context, netuid uint16, hotkey string) ([]chain.TimelockedCommit, error) {
	return nil, errTimelockPending
}

// Weights reads uid's weights row.
func (c *Chain) Weights(ctx context.Context, netuid, uid uint16) ([]uint16, []uint16, error) {
	return nil, nil, errTimelockPending
}

// WeightsInfo reads how hotkey must send weights on netuid.
func (c *Client) WeightsInfo(ctx context.Context, netuid uint16, hotkey string) (*chain.WeightsInfo, error) {
	return nil, errTimelockPending
}

// TimelockedCommits lists hotkey's unrevealed commits.
func (c *Client) TimelockedCommits(ctx context.Context, netuid uint16, hotkey string) ([]chain.TimelockedCommit, error) {
	return nil, errTimelockPending
}

// Weights reads uid's weights row.
func (c *Client) Weights(ctx context.Context, netuid, uid uint16) ([]uint16, []uint16, error) {
	return nil, nil, errTimelockPending
}

// CommitTimelockedWeights submits a timelocked commit.
func (c signedCalls) CommitTimelockedWeights(ctx context.Context, netuid uint16, hotkey chain.Signer, ciphertext []byte, revealRound uint64, version uint16) (uint64, error) {
	return 0, errTimelockPending
}
