package subtensor

import (
	"context"
	"fmt"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/subtensor/metadata"
	"github.com/sn27/compute/internal/scale"
)

var _ chain.BlockClock = (*Client)(nil)

// TimestampKey is the storage key of Timestamp.Now (a plain u64 of Unix
// milliseconds the block author sets in every block).
func TimestampKey() []byte { return metadata.StoragePrefix("Timestamp", "Now") }

// BlockTimestamp returns the best block and its Timestamp.Now
// (chain.BlockClock), both read at the same head.
func (c *Client) BlockTimestamp(ctx context.Context) (uint64, time.Time, error) {
	hash, n, err := c.Head(ctx)
	if err != nil {
		return 0, time.Time{}, err
	}
	raw, err := c.Storage(ctx, TimestampKey(), hash)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("timestamp of block %d: %w", n, err)
	}
	if raw == nil {
		return 0, time.Time{}, fmt.Errorf("timestamp of block %d: %w", n, chain.ErrNotFound)
	}
	d := scale.NewDecoder(raw)
	ms := d.U64()
	if err := d.Finish(); err != nil {
		return 0, time.Time{}, fmt.Errorf("decode the timestamp of block %d: %w", n, err)
	}
	if ms > 1<<62 {
		return 0, time.Time{}, fmt.Errorf("timestamp of block %d: %d ms is out of range", n, ms)
	}
	return n, time.UnixMilli(int64(ms)), nil
}
