package subtensor

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/subtensor/metadata"
	"github.com/sn27/compute/internal/chain/subtensor/rpc"
)

// Networks maps the SDK's network names to their endpoints.
var Networks = map[string]string{
	"finney":  "wss://entrypoint-finney.opentensor.ai:443",
	"test":    "wss://test.finney.opentensor.ai:443",
	"archive": "wss://archive.chain.opentensor.ai:443",
	"local":   "ws://127.0.0.1:9944",
}

// Endpoint resolves a network name or a ws(s):// URL (endpoint wins when both are set).
func Endpoint(network, endpoint string) (string, error) {
	if endpoint != "" {
		if !strings.HasPrefix(endpoint, "ws://") && !strings.HasPrefix(endpoint, "wss://") {
			return "", fmt.Errorf("subtensor.chain_endpoint %q must be a ws:// or wss:// URL", endpoint)
		}
		return endpoint, nil
	}
	if network == "" {
		network = "finney"
	}
	if strings.HasPrefix(network, "ws://") || strings.HasPrefix(network, "wss://") {
		return network, nil
	}
	u, ok := Networks[network]
	if !ok {
		return "", fmt.Errorf("subtensor: network %q is not one of finney, test, archive, local (or give a ws(s):// endpoint)", network)
	}
	return u, nil
}

// Config tunes a Client. Zero values pick the defaults noted.
type Config struct {
	Endpoint         string        // ws:// or wss:// URL (required)
	EraPeriod        uint64        // mortality of extrinsics in blocks; 128
	InclusionTimeout time.Duration // how long to wait for an extrinsic to enter a block; 2m
	PollInterval     time.Duration // WaitBlock polling when the node has no new-head subscription; 2s
	// BlockTime is the chain's target block interval, used to turn a reveal
	// block into a beacon round; 12s (finney).
	BlockTime time.Duration
	// BeaconPublicKey replaces drand quicknet's public key (96-byte compressed
	// G2) in WeightsInfo, for a chain whose pulses come from another beacon on
	// quicknet's timing; empty keeps quicknet's.
	BeaconPublicKey []byte
	// Now is the wall clock; nil uses time.Now.
	Now func() time.Time
	RPC rpc.Config
}

// Client talks to a subtensor node. It implements chain.Chain.
type Client struct {
	cfg Config
	rpc *rpc.Client
	log *slog.Logger

	mu      sync.Mutex
	meta    map[uint32]*metadata.Metadata // by spec_version
	genesis string

	txMu sync.Mutex // serialises extrinsic submission (nonce order)

	noHeadSub atomic.Bool // the node refused chain_subscribeNewHeads: WaitBlock polls
}

var _ chain.Chain = (*Client)(nil)

// New returns a client; the connection is made on first use.
func New(cfg Config, log *slog.Logger) (*Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.EraPeriod == 0 {
		cfg.EraPeriod = 128
	}
	if cfg.InclusionTimeout <= 0 {
		cfg.InclusionTimeout = 2 * time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.BlockTime <= 0 {
		cfg.BlockTime = DefaultBlockTime
	}
	if n := len(cfg.BeaconPublicKey); n != 0 && n != 96 {
		return nil, fmt.Errorf("beacon public key is %d bytes, want a 96-byte compressed G2 point", n)
	}
	r, err := rpc.New(cfg.Endpoint, cfg.RPC, log)
	if err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, rpc: r, log: log.With("component", "subtensor"), meta: map[uint32]*metadata.Metadata{}}, nil
}

// Close drops the connection.
func (c *Client) Close() error { return c.rpc.Close() }

// RPC exposes the underlying JSON-RPC client.
func (c *Client) RPC() *rpc.Client { return c.rpc }

// Hex helpers.

func encodeHex(b []byte) string { return "0x" + hex.EncodeToString(b) }

func decodeHex(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"))
	if err != nil {
		return nil, fmt.Errorf("node returned bad hex: %w", err)
	}
	return b, nil
}

func parseHexNumber(s string) (uint64, error) {
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
	if err != nil {
		return 0, fmt.Errorf("node returned bad block number %q: %w", s, err)
	}
	return v, nil
}

type header struct {
	Number     string `json:"number"`
	ParentHash string `json:"parentHash"`
}

// blockNumber reads the number of the block with hash ("" = best block).
func (c *Client) blockNumber(ctx context.Context, hash string) (uint64, error) {
	var h *header
	var params []any
	if hash != "" {
		params = append(params, hash)
	}
	if err := c.rpc.Call(ctx, &h, "chain_getHeader", params...); err != nil {
		return 0, fmt.Errorf("read block header: %w", err)
	}
	if h == nil {
		return 0, fmt.Errorf("read block header %s: %w", hash, chain.ErrNotFound)
	}
	return parseHexNumber(h.Number)
}

// Head returns the best block's hash and number, as the SDK reads them.
func (c *Client) Head(ctx context.Context) (string, uint64, error) {
	var hash string
	if err := c.rpc.Call(ctx, &hash, "chain_getHead"); err != nil {
		return "", 0, fmt.Errorf("read chain head: %w", err)
	}
	n, err := c.blockNumber(ctx, hash)
	return hash, n, err
}

// Block returns the best block number.
func (c *Client) Block(ctx context.Context) (uint64, error) { return c.blockNumber(ctx, "") }

// BlockHash returns the hash of block n.
func (c *Client) BlockHash(ctx context.Context, n uint64) (string, error) {
	var hash *string
	if err := c.rpc.Call(ctx, &hash, "chain_getBlockHash", n); err != nil {
		return "", fmt.Errorf("read hash of block %d: %w", n, err)
	}
	if hash == nil {
		return "", fmt.Errorf("block %d: %w", n, chain.ErrNotFound)
	}
	return *hash, nil
}

// WaitBlock waits until the best block is past after and returns its number.
// It follows chain_subscribeNewHeads on the websocket; when the node refuses
// the subscription or it breaks, it polls the head every PollInterval instead
// (a node that refuses it is not asked again).
func (c *Client) WaitBlock(ctx context.Context, after uint64) (uint64, error) {
	if !c.noHeadSub.Load() {
		n, err := c.waitBlockSubscribed(ctx, after)
		if err == nil {
			return n, nil
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("wait for block %d: %w", after+1, ctx.Err())
		}
		var rpcErr *rpc.Error
		if errors.As(err, &rpcErr) {
			c.noHeadSub.Store(true)
			c.log.Info("the node refuses new-head subscriptions; polling the head instead", "every", c.cfg.PollInterval, "err", err)
		} else {
			c.log.Debug("new-head subscription failed; polling the head", "err", err)
		}
	}
	return c.pollBlock(ctx, after)
}

// waitBlockSubscribed follows new heads until one is past after.
func (c *Client) waitBlockSubscribed(ctx context.Context, after uint64) (uint64, error) {
	sub, err := c.rpc.Subscribe(ctx, "chain_subscribeNewHeads", "chain_unsubscribeNewHeads")
	if err != nil {
		return 0, fmt.Errorf("subscribe to new heads: %w", err)
	}
	gone := false // the connection ended, and the subscription with it
	defer func() {
		if gone {
			return
		}
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = sub.Unsubscribe(uctx)
	}()
	// The head may be past after already, and not every node sends the
	// current head on subscribing.
	if n, err := c.Block(ctx); err == nil && n > after {
		return n, nil
	}
	for {
		raw, err := sub.Next(ctx)
		if err != nil {
			gone = errors.Is(err, chain.ErrConnection)
			return 0, fmt.Errorf("new heads: %w", err)
		}
		var h header
		if err := json.Unmarshal(raw, &h); err != nil {
			return 0, fmt.Errorf("new heads: node sent a bad header: %w", err)
		}
		n, err := parseHexNumber(h.Number)
		if err != nil {
			return 0, fmt.Errorf("new heads: %w", err)
		}
		if n > after {
			return n, nil
		}
	}
}

// pollBlock polls the head every PollInterval until it is past after.
func (c *Client) pollBlock(ctx context.Context, after uint64) (uint64, error) {
	t := time.NewTicker(c.cfg.PollInterval)
	defer t.Stop()
	for {
		n, err := c.Block(ctx)
		if err == nil && n > after {
			return n, nil
		}
		if err != nil {
			c.log.Debug("waiting for a block", "err", err)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("wait for block %d: %w", after+1, ctx.Err())
		case <-t.C:
		}
	}
}

// Storage reads a raw storage value at hash ("" = best block); nil when absent.
func (c *Client) Storage(ctx context.Context, key []byte, hash string) ([]byte, error) {
	params := []any{encodeHex(key)}
	if hash != "" {
		params = append(params, hash)
	}
	var v *string
	if err := c.rpc.Call(ctx, &v, "state_getStorage", params...); err != nil {
		return nil, fmt.Errorf("read storage %x: %w", key[:min(len(key), 32)], err)
	}
	if v == nil {
		return nil, nil
	}
	return decodeHex(*v)
}

// StateCall runs a runtime API function with SCALE-encoded args at hash ("" = best block).
func (c *Client) StateCall(ctx context.Context, fn string, args []byte, hash string) ([]byte, error) {
	params := []any{fn, encodeHex(args)}
	if hash != "" {
		params = append(params, hash)
	}
	var v string
	if err := c.rpc.Call(ctx, &v, "state_call", params...); err != nil {
		return nil, fmt.Errorf("runtime call %s: %w", fn, err)
	}
	return decodeHex(v)
}

type runtimeVersion struct {
	SpecVersion        uint32 `json:"specVersion"`
	TransactionVersion uint32 `json:"transactionVersion"`
}

func (c *Client) runtimeVersion(ctx context.Context, hash string) (runtimeVersion, error) {
	var rv runtimeVersion
	var params []any
	if hash != "" {
		params = append(params, hash)
	}
	if err := c.rpc.Call(ctx, &rv, "state_getRuntimeVersion", params...); err != nil {
		return rv, fmt.Errorf("read runtime version: %w", err)
	}
	return rv, nil
}

// headMetadata reads the head and the runtime metadata at that block, for
// storage reads made at one block.
func (c *Client) headMetadata(ctx context.Context) (string, *metadata.Metadata, error) {
	hash, _, err := c.Head(ctx)
	if err != nil {
		return "", nil, err
	}
	m, _, err := c.Metadata(ctx, hash)
	if err != nil {
		return "", nil, err
	}
	return hash, m, nil
}

// Metadata returns the runtime metadata at hash ("" = best block), cached per spec_version.
func (c *Client) Metadata(ctx context.Context, hash string) (*metadata.Metadata, runtimeVersion, error) {
	rv, err := c.runtimeVersion(ctx, hash)
	if err != nil {
		return nil, rv, err
	}
	c.mu.Lock()
	m := c.meta[rv.SpecVersion]
	c.mu.Unlock()
	if m != nil {
		return m, rv, nil
	}
	var params []any
	if hash != "" {
		params = append(params, hash)
	}
	var raw string
	if err := c.rpc.Call(ctx, &raw, "state_getMetadata", params...); err != nil {
		return nil, rv, fmt.Errorf("read runtime metadata: %w", err)
	}
	b, err := decodeHex(raw)
	if err != nil {
		return nil, rv, err
	}
	m, err = metadata.Parse(b)
	if err != nil {
		return nil, rv, fmt.Errorf("runtime spec %d: %w", rv.SpecVersion, err)
	}
	c.mu.Lock()
	c.meta[rv.SpecVersion] = m
	c.mu.Unlock()
	c.log.Debug("loaded runtime metadata", "spec_version", rv.SpecVersion, "pallets", len(m.Pallets))
	return m, rv, nil
}

func (c *Client) genesisHash(ctx context.Context) (string, error) {
	c.mu.Lock()
	g := c.genesis
	c.mu.Unlock()
	if g != "" {
		return g, nil
	}
	g, err := c.BlockHash(ctx, 0)
	if err != nil {
		return "", fmt.Errorf("read genesis hash: %w", err)
	}
	c.mu.Lock()
	c.genesis = g
	c.mu.Unlock()
	return g, nil
}

// queryStorage reads several keys at one block; absent keys come back nil.
func (c *Client) queryStorage(ctx context.Context, keys [][]byte, hash string) ([][]byte, error) {
	hexKeys := make([]string, len(keys))
	for i, k := range keys {
		hexKeys[i] = encodeHex(k)
	}
	params := []any{hexKeys}
	if hash != "" {
		params = append(params, hash)
	}
	var sets []struct {
		Changes [][2]*string `json:"changes"`
	}
	if err := c.rpc.Call(ctx, &sets, "state_queryStorageAt", params...); err != nil {
		return nil, fmt.Errorf("read storage: %w", err)
	}
	byKey := map[string][]byte{}
	for _, s := range sets {
		for _, ch := range s.Changes {
			if ch[0] == nil || ch[1] == nil {
				continue
			}
			v, err := decodeHex(*ch[1])
			if err != nil {
				return nil, err
			}
			byKey[strings.ToLower(strings.TrimPrefix(*ch[0], "0x"))] = v
		}
	}
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = byKey[hex.EncodeToString(k)]
	}
	return out, nil
}

// errUnexpected marks values whose shape the client does not understand.
var errUnexpected = errors.New("unexpected value shape")

func asU64(v any) (uint64, error) {
	if n, ok := metadata.AsUint(v); ok {
		return n, nil
	}
	if b, ok := v.(*big.Int); ok {
		return 0, fmt.Errorf("%w: %s does not fit in 64 bits", errUnexpected, b)
	}
	return 0, fmt.Errorf("%w: want an integer, got %T", errUnexpected, v)
}

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
