package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/sn27/compute/internal/chain"
)

// Error is an error object returned by the node.
type Error struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *Error) Error() string {
	if len(e.Data) > 0 && string(e.Data) != "null" {
		return fmt.Sprintf("node error %d: %s: %s", e.Code, e.Message, strings.Trim(string(e.Data), `"`))
	}
	return fmt.Sprintf("node error %d: %s", e.Code, e.Message)
}

// Config tunes a Client. Zero values pick the defaults noted.
type Config struct {
	DialTimeout  time.Duration // 15s
	ReadLimit    int64         // 64 MiB per message
	MaxBackoff   time.Duration // 10s between dial attempts
	PingInterval time.Duration // 30s; negative disables pings
	CallTimeout  time.Duration // 60s when the call's context has no deadline
}

// Client is a websocket JSON-RPC client. The zero value is not usable; use New.
type Client struct {
	url string
	cfg Config
	log *slog.Logger
	id  atomic.Uint64

	mu      sync.Mutex
	cur     *conn
	closed  bool
	backoff time.Duration
	lastErr time.Time
}

// New returns a client for url (ws:// or wss://). Nothing is dialled until the first call.
func New(url string, cfg Config, log *slog.Logger) (*Client, error) {
	if !strings.HasPrefix(url, "ws://") && !strings.HasPrefix(url, "wss://") {
		return nil, fmt.Errorf("rpc: endpoint %q must start with ws:// or wss://", url)
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 15 * time.Second
	}
	if cfg.ReadLimit <= 0 {
		cfg.ReadLimit = 64 << 20
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = 30 * time.Second
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 60 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{url: url, cfg: cfg, log: log.With("component", "subtensor-rpc", "endpoint", url)}, nil
}

// URL is the endpoint.
func (c *Client) URL() string { return c.url }

type response struct {
	ID     *uint64         `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *Error          `json:"error"`
	Method string          `json:"method"`
	Params *struct {
		Subscription json.RawMessage `json:"subscription"`
		Result       json.RawMessage `json:"result"`
	} `json:"params"`
}

type pending struct {
	ch  chan response
	sub *Subscription // set for subscribe requests: registered when the answer arrives
}

// conn is one websocket plus its reader; pending and subs are guarded by mu.
type conn struct {
	ws      *websocket.Conn
	mu      sync.Mutex
	pending map[uint64]*pending
	subs    map[string]*Subscription
	done    chan struct{}
	err     error
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

// Close closes the connection and stops reconnecting.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	cur := c.cur
	c.cur = nil
	c.mu.Unlock()
	if cur != nil {
		cur.close(errors.New("client closed"))
		cur.wg.Wait()
	}
	return nil
}

// connection returns the live connection, dialling with backoff when there is none.
func (c *Client) connection(ctx context.Context) (*conn, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, fmt.Errorf("%w: client closed", chain.ErrConnection)
		}
		if c.cur != nil {
			select {
			case <-c.cur.done:
				c.cur = nil
			default:
				cur := c.cur
				c.mu.Unlock()
				return cur, nil
			}
		}
		wait := time.Duration(0)
		if !c.lastErr.IsZero() {
			wait = time.Until(c.lastErr.Add(c.backoff))
		}
		c.mu.Unlock()
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("%w: %s: waiting to reconnect: %w", chain.ErrConnection, c.url, ctx.Err())
			case <-t.C:
			}
		}
		cn, err := c.dial(ctx)
		c.mu.Lock()
		if err != nil {
			c.lastErr = time.Now()
			c.backoff = min(max(2*c.backoff, 100*time.Millisecond), c.cfg.MaxBackoff)
			c.mu.Unlock()
			c.log.Warn("cannot reach the chain endpoint; will retry", "err", err, "backoff", c.backoff)
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w: %s: %w", chain.ErrConnection, c.url, err)
			}
			continue
		}
		if c.closed {
			c.mu.Unlock()
			cn.close(errors.New("client closed"))
			return nil, fmt.Errorf("%w: client closed", chain.ErrConnection)
		}
		c.backoff, c.lastErr = 0, time.Time{}
		c.cur = cn
		c.mu.Unlock()
		return cn, nil
	}
}

func (c *Client) dial(ctx context.Context) (*conn, error) {
	dctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(dctx, c.url, nil)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(c.cfg.ReadLimit)
	// The reader lives as long as the connection, not as long as the call that dialled it.
	lctx, stop := context.WithCancel(context.Background())
	cn := &conn{ws: ws, pending: map[uint64]*pending{}, subs: map[string]*Subscription{},
		done: make(chan struct{}), stop: stop}
	cn.wg.Add(1)
	go cn.read(lctx, c.log)
	if c.cfg.PingInterval > 0 {
		cn.wg.Add(1)
		go cn.ping(lctx, c.cfg.PingInterval)
	}
	c.log.Debug("connected")
	return cn, nil
}

func (cn *conn) close(err error) {
	cn.mu.Lock()
	if cn.err != nil {
		cn.mu.Unlock()
		return
	}
	cn.err = err
	close(cn.done)
	subs := cn.subs
	cn.subs = map[string]*Subscription{}
	cn.mu.Unlock()
	cn.stop()
	_ = cn.ws.CloseNow()
	for _, s := range subs {
		s.finish(fmt.Errorf("%w: subscription ended: %w", chain.ErrConnection, err))
	}
}

func (cn *conn) ping(ctx context.Context, every time.Duration) {
	defer cn.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, every)
			err := cn.ws.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				cn.close(fmt.Errorf("ping: %w", err))
				return
			}
		}
	}
}

func (cn *conn) read(ctx context.Context, log *slog.Logger) {
	defer cn.wg.Done()
	for {
		_, msg, err := cn.ws.Read(ctx)
		if err != nil {
			cn.close(err)
			return
		}
		var r response
		if err := json.Unmarshal(msg, &r); err != nil {
			log.Warn("ignoring a malformed message from the node", "err", err, "bytes", len(msg))
			continue
		}
		if r.ID == nil {
			if r.Params == nil {
				continue
			}
			var id string
			if err := json.Unmarshal(r.Params.Subscription, &id); err != nil {
				id = string(r.Params.Subscription)
			}
			cn.mu.Lock()
			s := cn.subs[id]
			cn.mu.Unlock()
			if s != nil && !s.push(r.Params.Result) {
				cn.mu.Lock()
				delete(cn.subs, id)
				cn.mu.Unlock()
			}
			continue
		}
		cn.mu.Lock()
		p := cn.pending[*r.ID]
		delete(cn.pending, *r.ID)
		if p != nil && p.sub != nil && r.Error == nil {
			var id string
			if err := json.Unmarshal(r.Result, &id); err != nil {
				id = string(r.Result)
			}
			p.sub.id = id
			cn.subs[id] = p.sub
		}
		cn.mu.Unlock()
		if p != nil {
			p.ch <- r
		}
	}
}

// Call invokes method and decodes the result into result (which may be nil or a
// *json.RawMessage). A call whose connection breaks before the answer is retried once.
func (c *Client) Call(ctx context.Context, result any, method string, params ...any) error {
	err := c.call(ctx, result, nil, method, params)
	if errors.Is(err, errLost) {
		c.log.Debug("retrying after connection loss", "method", method)
		err = c.call(ctx, result, nil, method, params)
	}
	return clean(err)
}

// CallOnce is Call without the retry: for requests that must not be sent twice.
func (c *Client) CallOnce(ctx context.Context, result any, method string, params ...any) error {
	return clean(c.call(ctx, result, nil, method, params))
}

var errLost = errors.New("connection lost before the answer")

func clean(err error) error {
	if errors.Is(err, errLost) {
		return fmt.Errorf("%w: %w", chain.ErrConnection, err)
	}
	return err
}

func (c *Client) call(ctx context.Context, result any, sub *Subscription, method string, params []any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.CallTimeout)
		defer cancel()
	}
	if params == nil {
		params = []any{}
	}
	cn, err := c.connection(ctx)
	if err != nil {
		return err
	}
	id := c.id.Add(1)
	msg, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		return fmt.Errorf("rpc %s: encode params: %w", method, err)
	}
	p := &pending{ch: make(chan response, 1), sub: sub}
	cn.mu.Lock()
	if cn.err != nil {
		cn.mu.Unlock()
		return fmt.Errorf("rpc %s: %w", method, errLost)
	}
	cn.pending[id] = p
	cn.mu.Unlock()
	defer func() {
		cn.mu.Lock()
		delete(cn.pending, id)
		cn.mu.Unlock()
	}()
	if err := cn.ws.Write(ctx, websocket.MessageText, msg); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("rpc %s: %w", method, ctx.Err())
		}
		cn.close(err)
		return fmt.Errorf("rpc %s: write: %w (%w)", method, errLost, err)
	}
	select {
	case <-ctx.Done():
		return fmt.Errorf("rpc %s: %w", method, ctx.Err())
	case <-cn.done:
		return fmt.Errorf("rpc %s: %w", method, errLost)
	case r := <-p.ch:
		if r.Error != nil {
			return fmt.Errorf("rpc %s: %w", method, r.Error)
		}
		if result == nil {
			return nil
		}
		if raw, ok := result.(*json.RawMessage); ok {
			*raw = append((*raw)[:0], r.Result...)
			return nil
		}
		if err := json.Unmarshal(r.Result, result); err != nil {
			return fmt.Errorf("rpc %s: decode result: %w", method, err)
		}
		return nil
	}
}

// Subscription receives notifications of one subscription.
type Subscription struct {
	id    string
	unsub string
	c     *Client
	ch    chan json.RawMessage
	once  sync.Once
	mu    sync.Mutex
	err   error
	ended chan struct{}
}

const subQueue = 128

// Subscribe calls method (which answers a subscription id) and returns the subscription.
// unsubscribe is the method that ends it. Never retried.
func (c *Client) Subscribe(ctx context.Context, method, unsubscribe string, params ...any) (*Subscription, error) {
	s := &Subscription{unsub: unsubscribe, c: c, ch: make(chan json.RawMessage, subQueue), ended: make(chan struct{})}
	if err := c.call(ctx, nil, s, method, params); err != nil {
		return nil, clean(err)
	}
	return s, nil
}

func (s *Subscription) push(v json.RawMessage) bool {
	select {
	case <-s.ended:
		return false
	default:
	}
	select {
	case s.ch <- v:
		return true
	default:
		s.finish(errors.New("rpc: subscription queue overflow; the reader is too slow"))
		return false
	}
}

func (s *Subscription) finish(err error) {
	s.once.Do(func() {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(s.ended)
	})
}

// Next returns the next notification, or an error when ctx ends or the subscription broke.
func (s *Subscription) Next(ctx context.Context) (json.RawMessage, error) {
	select {
	case v := <-s.ch:
		return v, nil
	default:
	}
	select {
	case v := <-s.ch:
		return v, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.ended:
		s.mu.Lock()
		defer s.mu.Unlock()
		return nil, s.err
	}
}

// Unsubscribe ends the subscription on the node (best effort) and locally.
func (s *Subscription) Unsubscribe(ctx context.Context) error {
	s.finish(errors.New("rpc: unsubscribed"))
	s.c.mu.Lock()
	cn := s.c.cur
	s.c.mu.Unlock()
	if cn != nil {
		cn.mu.Lock()
		delete(cn.subs, s.id)
		cn.mu.Unlock()
	}
	if s.unsub == "" || s.id == "" {
		return nil
	}
	return clean(s.c.call(ctx, nil, nil, s.unsub, []any{s.id}))
}
