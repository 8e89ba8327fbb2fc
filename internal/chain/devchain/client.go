package devchain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sn27/compute/internal/chain"
)

// Client is chain.Chain over a localnet's HTTP API. Calls are signed locally;
// keys never leave the process. Safe for concurrent use.
type Client struct {
	signedCalls
	base string
	http *http.Client
}

// maxResponseBytes bounds a reply (a full 4096-uid metagraph fits easily).
const maxResponseBytes = 64 << 20

// Dial connects to a localnet at endpoint ("http://host:port") and checks
// that it answers.
func Dial(ctx context.Context, endpoint string) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("localnet endpoint %q must look like http://127.0.0.1:9946", endpoint)
	}
	c := &Client{
		base: strings.TrimSuffix(u.String(), "/"),
		// No overall timeout: long polls run up to maxWait; each call has its ctx.
		http: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
	}
	c.signedCalls = signedCalls{c}
	if _, err := c.Block(ctx); err != nil {
		return nil, fmt.Errorf("dial localnet %s: %w", endpoint, err)
	}
	return c, nil
}

// Close releases idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// remoteError is an error reported by the server; it unwraps to the typed error of its code.
type remoteError struct {
	code, msg string
	typed     error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.typed }

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("localnet request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %s %s: %v", chain.ErrConnection, method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("%w: read %s reply: %v", chain.ErrConnection, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e apiError
		if json.Unmarshal(raw, &e) != nil || e.Error.Code == "" {
			return fmt.Errorf("%w: %s %s: HTTP %d", chain.ErrConnection, method, path, resp.StatusCode)
		}
		re := &remoteError{code: e.Error.Code, msg: e.Error.Message}
		for _, ec := range errorCodes {
			if ec.code == e.Error.Code {
				re.typed = ec.err
				break
			}
		}
		return re
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode %s reply: %w", path, err)
	}
	return nil
}

func nq(netuid uint16) url.Values {
	return url.Values{"netuid": {strconv.FormatUint(uint64(netuid), 10)}}
}

// Block returns the current block.
func (c *Client) Block(ctx context.Context) (uint64, error) {
	var b blockReply
	err := c.do(ctx, http.MethodGet, "/v1/block", nil, nil, &b)
	return b.Block, err
}

// BlockTimestamp returns the current block and when the localnet produced it
// (chain.BlockClock); before its first block the error wraps chain.ErrNotFound.
func (c *Client) BlockTimestamp(ctx context.Context) (uint64, time.Time, error) {
	var b blockReply
	if err := c.do(ctx, http.MethodGet, "/v1/block", nil, nil, &b); err != nil {
		return 0, time.Time{}, err
	}
	if b.TimestampMS <= 0 {
		return b.Block, time.Time{}, fmt.Errorf("timestamp of block %d: the localnet has produced no block yet, or is older than this client: %w", b.Block, chain.ErrNotFound)
	}
	return b.Block, time.UnixMilli(b.TimestampMS), nil
}

// WaitBlock long-polls until the chain is past block after.
func (c *Client) WaitBlock(ctx context.Context, after uint64) (uint64, error) {
	for {
		var b blockReply
		q := url.Values{"after": {strconv.FormatUint(after, 10)}, "timeout_ms": {strconv.Itoa(int(maxWait / time.Millisecond))}}
		if err := c.do(ctx, http.MethodGet, "/v1/wait", q, nil, &b); err != nil {
			return 0, err
		}
		if b.Block > after {
			return b.Block, nil
		}
	}
}

// Metagraph returns every neuron of a subnet.
func (c *Client) Metagraph(ctx context.Context, netuid uint16) (*chain.Metagraph, error) {
	var mg chain.Metagraph
	if err := c.do(ctx, http.MethodGet, "/v1/metagraph", nq(netuid), nil, &mg); err != nil {
		return nil, err
	}
	return &mg, nil
}

// Neuron returns one neuron by uid.
func (c *Client) Neuron(ctx context.Context, netuid, uid uint16) (*chain.Neuron, error) {
	q := nq(netuid)
	q.Set("uid", strconv.FormatUint(uint64(uid), 10))
	var nr chain.Neuron
	if err := c.do(ctx, http.MethodGet, "/v1/neuron", q, nil, &nr); err != nil {
		return nil, err
	}
	return &nr, nil
}

// NeuronByHotkey returns the neuron a hotkey holds.
func (c *Client) NeuronByHotkey(ctx context.Context, netuid uint16, hotkey string) (*chain.Neuron, error) {
	q := nq(netuid)
	q.Set("hotkey", hotkey)
	var nr chain.Neuron
	if err := c.do(ctx, http.MethodGet, "/v1/neuron", q, nil, &nr); err != nil {
		return nil, err
	}
	return &nr, nil
}

// IsRegistered reports whether hotkey holds a uid on netuid.
func (c *Client) IsRegistered(ctx context.Context, netuid uint16, hotkey string) (bool, error) {
	_, err := c.NeuronByHotkey(ctx, netuid, hotkey)
	if errors.Is(err, chain.ErrNotRegistered) {
		return false, nil
	}
	return err == nil, err
}

// Params returns a subnet's settings.
func (c *Client) Params(ctx context.Context, netuid uint16) (Params, error) {
	var p Params
	err := c.do(ctx, http.MethodGet, "/v1/params", nq(netuid), nil, &p)
	return p, err
}

// Hyperparameters returns the subnet's parameters.
func (c *Client) Hyperparameters(ctx context.Context, netuid uint16) (*chain.Hyperparameters, error) {
	p, err := c.Params(ctx, netuid)
	if err != nil {
		return nil, err
	}
	return &p.Hyperparameters, nil
}

// Commitment reads the hotkey's commitment.
func (c *Client) Commitment(ctx context.Context, netuid uint16, hotkey string) (*chain.Commitment, error) {
	q := nq(netuid)
	q.Set("hotkey", hotkey)
	var cm chain.Commitment
	if err := c.do(ctx, http.MethodGet, "/v1/commitment", q, nil, &cm); err != nil {
		return nil, err
	}
	return &cm, nil
}

// Account returns a key's balance and last nonce.
func (c *Client) Account(ctx context.Context, address string) (Account, error) {
	var a Account
	err := c.do(ctx, http.MethodGet, "/v1/account", url.Values{"address": {address}}, nil, &a)
	return a, err
}

// Issuance returns the chain's issuance counters.
func (c *Client) Issuance(ctx context.Context) (Issuance, error) {
	var is Issuance
	err := c.do(ctx, http.MethodGet, "/v1/issuance", nil, nil, &is)
	return is, err
}

// Fund asks the localnet's faucet to credit rao to address.
func (c *Client) Fund(ctx context.Context, address string, rao uint64) error {
	return c.do(ctx, http.MethodPost, "/v1/dev/fund", nil, FundRequest{Address: address, AmountRao: rao}, nil)
}

// Submit sends an already signed call.
func (c *Client) Submit(ctx context.Context, call *Call) (CallResult, error) {
	var res CallResult
	err := c.do(ctx, http.MethodPost, "/v1/call", nil, call, &res)
	return res, err
}

// WeightsInfo reads how hotkey must send weights on netuid.
func (c *Client) WeightsInfo(ctx context.Context, netuid uint16, hotkey string) (*chain.WeightsInfo, error) {
	q := nq(netuid)
	q.Set("hotkey", hotkey)
	var info chain.WeightsInfo
	if err := c.do(ctx, http.MethodGet, "/v1/weights_info", q, nil, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// TimelockedCommits lists hotkey's unrevealed commits on netuid (every
// hotkey's when hotkey is "").
func (c *Client) TimelockedCommits(ctx context.Context, netuid uint16, hotkey string) ([]chain.TimelockedCommit, error) {
	q := nq(netuid)
	if hotkey != "" {
		q.Set("hotkey", hotkey)
	}
	var cs []chain.TimelockedCommit
	if err := c.do(ctx, http.MethodGet, "/v1/timelocked_commits", q, nil, &cs); err != nil {
		return nil, err
	}
	return cs, nil
}

// Weights reads uid's weights row.
func (c *Client) Weights(ctx context.Context, netuid, uid uint16) ([]uint16, []uint16, error) {
	q := nq(netuid)
	q.Set("uid", strconv.FormatUint(uint64(uid), 10))
	var wr WeightsReply
	if err := c.do(ctx, http.MethodGet, "/v1/weights", q, nil, &wr); err != nil {
		return nil, nil, err
	}
	return wr.UIDs, wr.Values, nil
}

// Events returns the events q selects.
func (c *Client) Events(ctx context.Context, eq EventQuery) ([]Event, error) {
	q := url.Values{}
	if !eq.AllSubnets {
		q = nq(eq.Netuid)
	}
	if eq.After > 0 {
		q.Set("after", strconv.FormatUint(eq.After, 10))
	}
	if eq.Limit > 0 {
		q.Set("limit", strconv.Itoa(min(eq.Limit, MaxEvents)))
	}
	var evs []Event
	if err := c.do(ctx, http.MethodGet, "/v1/events", q, nil, &evs); err != nil {
		return nil, err
	}
	return evs, nil
}

// Beacon describes the localnet's beacon.
func (c *Client) Beacon(ctx context.Context) (BeaconInfo, error) {
	var b BeaconInfo
	err := c.do(ctx, http.MethodGet, "/v1/beacon", nil, nil, &b)
	return b, err
}

// Pulse returns the beacon's pulse for a published round (chain.ErrNotFound
// for a future one).
func (c *Client) Pulse(ctx context.Context, round uint64) (Pulse, error) {
	var p Pulse
	err := c.do(ctx, http.MethodGet, "/v1/beacon/pulse", url.Values{"round": {strconv.FormatUint(round, 10)}}, nil, &p)
	return p, err
}
