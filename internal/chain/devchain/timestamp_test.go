package devchain

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
)

// TestBlockTimestamp: each block carries the clock's time when it was
// produced, in milliseconds; the HTTP client reads the same; before the
// first block there is none; a restart keeps the latest.
func TestBlockTimestamp(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "chain.db")
	now := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	c, err := Open(ctx, Config{Path: path, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(c, nil))
	defer srv.Close()
	cl := dial(t, srv.URL)

	if _, _, err := c.BlockTimestamp(ctx); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("in process before the first block: %v", err)
	}
	if _, _, err := cl.BlockTimestamp(ctx); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("over HTTP before the first block: %v", err)
	}
	want := now.Truncate(time.Millisecond)
	for _, clk := range []chain.BlockClock{c, cl} {
		if _, err := c.Step(ctx, 2); err != nil {
			t.Fatal(err)
		}
		b, at, err := clk.BlockTimestamp(ctx)
		if err != nil || !at.Equal(want) || b != mustBlock(t, c) {
			t.Fatalf("%T: block %d at %v (%v), want block %d at %v", clk, b, at, err, mustBlock(t, c), want)
		}
		now = now.Add(12 * time.Second)
		want = now.Truncate(time.Millisecond)
	}
	last := now.Add(-12 * time.Second).Truncate(time.Millisecond)
	srv.Close()
	c.Close()

	c2, err := Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if b, at, err := c2.BlockTimestamp(ctx); err != nil || b != 4 || !at.Equal(last) {
		t.Fatalf("after a restart: block %d at %v (%v), want 4 at %v", b, at, err, last)
	}
}

func mustBlock(t *testing.T, c *Chain) uint64 {
	t.Helper()
	b, err := c.Block(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b
}
