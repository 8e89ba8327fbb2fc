package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/subtensor/replay"
	"github.com/sn27/compute/internal/chain/subtensor/rpc"
)

func TestReconnectAndErrors(t *testing.T) {
	srv, err := replay.New(nil, "get_current_block")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := rpc.New(srv.URL(), rpc.Config{MaxBackoff: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var head string
	for i := range 3 {
		if err := c.Call(ctx, &head, "chain_getHead"); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if head != "0x4f0bbe5e96a78ca4cc1df9a7e757d335165d6d71c545cf6eb4794986424bcd29" {
			t.Fatalf("head %s", head)
		}
		srv.DropConnections() // the next call must redial
	}
	var rpcErr *rpc.Error
	if err := c.Call(ctx, nil, "no_such_method"); !errors.As(err, &rpcErr) {
		t.Fatalf("unknown method: %v", err)
	}
	// A handler that never answers: the call's own context bounds it.
	srv.Handle("slow", func(*replay.Call) (any, error) { time.Sleep(300 * time.Millisecond); return 1, nil })
	sctx, scancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer scancel()
	if err := c.Call(sctx, nil, "slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow call: %v", err)
	}
}

func TestSubscriptionEndsOnDrop(t *testing.T) {
	srv, err := replay.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.Handle("sub", func(c *replay.Call) (any, error) {
		c.Notify("note", "s1", 1)
		c.Notify("note", "s1", 2)
		return "s1", nil
	})
	c, _ := rpc.New(srv.URL(), rpc.Config{}, nil)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.Subscribe(ctx, "sub", "")
	if err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= 2; want++ {
		msg, err := s.Next(ctx)
		var got int
		if err != nil || json.Unmarshal(msg, &got) != nil || got != want {
			t.Fatalf("notification %d: %s %v", want, msg, err)
		}
	}
	srv.DropConnections()
	if _, err := s.Next(ctx); !errors.Is(err, chain.ErrConnection) {
		t.Fatalf("after drop: %v", err)
	}
}

func TestBadEndpoint(t *testing.T) {
	if _, err := rpc.New("http://x", rpc.Config{}, nil); err == nil {
		t.Fatal("http endpoint accepted")
	}
	c, _ := rpc.New("ws://127.0.0.1:1", rpc.Config{DialTimeout: 200 * time.Millisecond}, nil)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := c.Call(ctx, nil, "x"); !errors.Is(err, chain.ErrConnection) {
		t.Fatalf("unreachable: %v", err)
	}
}
