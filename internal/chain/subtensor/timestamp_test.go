package subtensor

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/subtensor/replay"
)

// TestBlockTimestamp reads Timestamp.Now at the head: a u64 of milliseconds,
// asked for at the head's hash; an absent or malformed value is an error.
func TestBlockTimestamp(t *testing.T) {
	c, srv := newReplayClient(t)
	srv.Handle("chain_getHead", func(*replay.Call) (any, error) { return headHash, nil })
	srv.Handle("chain_getHeader", func(*replay.Call) (any, error) {
		return map[string]any{"number": "0x63853a", "parentHash": headHash}, nil
	})
	value := any("0x98e1935195010000") // 1740830400920 ms, little-endian
	var asked []string
	srv.Handle("state_getStorage", func(call *replay.Call) (any, error) {
		var key, at string
		_ = json.Unmarshal(call.Params[0], &key)
		if len(call.Params) > 1 {
			_ = json.Unmarshal(call.Params[1], &at)
		}
		asked = append(asked, key+"@"+at)
		return value, nil
	})
	b, at, err := c.BlockTimestamp(ctx10(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.UnixMilli(1740830400920); b != 0x63853a || !at.Equal(want) {
		t.Fatalf("block %d at %v, want %d at %v", b, at, 0x63853a, want)
	}
	// twox128("Timestamp") ++ twox128("Now"), read at the head's hash.
	if want := "0xf0c365c3cf59d671eb72da0e7a4113c49f1f0515f462cdcf84e0f1d6045dfcbb@" + headHash; len(asked) != 1 || asked[0] != want {
		t.Fatalf("asked %v, want %s", asked, want)
	}
	for _, tc := range []struct {
		value any
		want  string
	}{
		{nil, "not found"},
		{"0x98e193", "decode"},
		{"0x98e193519501000000", "decode"},
	} {
		value = tc.value
		_, _, err := c.BlockTimestamp(ctx10(t))
		if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.value == nil && !errors.Is(err, chain.ErrNotFound)) {
			t.Errorf("value %v: %v, want an error with %q", tc.value, err, tc.want)
		}
	}
}
