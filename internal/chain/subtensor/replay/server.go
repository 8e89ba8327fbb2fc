package replay

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Error is a JSON-RPC error a Handler can return.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message) }

// Call is one request given to a Handler.
type Call struct {
	Method string
	Params []json.RawMessage
	after  []any
	sent   []func()
}

// afterSent runs f once the answer and its notifications are written.
func (c *Call) afterSent(f func()) { c.sent = append(c.sent, f) }

// Notify queues a subscription notification, sent right after the response to this call.
func (c *Call) Notify(method, subscription string, result any) {
	c.after = append(c.after, map[string]any{
		"jsonrpc": "2.0", "method": method,
		"params": map[string]any{"subscription": subscription, "result": result},
	})
}

// Handler answers a method instead of the recording. Returning an *Error sends it as the
// JSON-RPC error; any other error becomes a generic server error.
type Handler func(c *Call) (any, error)

// Server is a websocket JSON-RPC node that replays recorded responses.
type Server struct {
	ln   net.Listener
	http *http.Server
	log  *slog.Logger

	mu        sync.Mutex
	responses map[string]map[string]json.RawMessage // method -> normalised params -> response
	anyParams map[string]json.RawMessage            // method -> response for any params
	handlers  map[string]Handler
	requests  []string
	conns     map[*websocket.Conn]struct{}
	wg        sync.WaitGroup

	headSubs map[string]bool // open chain_subscribeNewHeads subscriptions (ServeNewHeads)
	headSeq  int
}

// methodAliases maps equivalent RPC names onto the name used in the recordings.
var methodAliases = map[string]string{
	"state_getStorage":        "state_getStorageAt",
	"chain_getRuntimeVersion": "state_getRuntimeVersion",
	"chain_getFinalisedHead":  "chain_getFinalizedHead",
	"state_getKeysPagedAt":    "state_getKeysPaged",
	"account_nextIndex":       "system_accountNextIndex",
}

func alias(method string) string {
	if a, ok := methodAliases[method]; ok {
		return a
	}
	return method
}

// New starts a server on 127.0.0.1:0 that replays the named scenarios (earlier ones win when
// two record the same request). state_getMetadata and Metadata_metadata_at_version are always
// answered from the recorded spec-343 metadata. Close it when done.
func New(log *slog.Logger, scenarios ...string) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rec, err := Recorded()
	if err != nil {
		return nil, err
	}
	s := &Server{
		log:       log,
		responses: map[string]map[string]json.RawMessage{},
		anyParams: map[string]json.RawMessage{},
		handlers:  map[string]Handler{},
		conns:     map[*websocket.Conn]struct{}{},
	}
	for _, name := range scenarios {
		sc, ok := rec[name]
		if !ok {
			return nil, fmt.Errorf("replay: no recorded scenario %q", name)
		}
		for method, byParams := range sc {
			m := alias(method)
			if s.responses[m] == nil {
				s.responses[m] = map[string]json.RawMessage{}
			}
			for params, resp := range byParams {
				key, err := Normalize(json.RawMessage(params))
				if err != nil {
					return nil, fmt.Errorf("replay: scenario %s %s: %w", name, method, err)
				}
				if _, dup := s.responses[m][key]; !dup {
					s.responses[m][key] = resp
				}
			}
		}
	}
	v14, err := MetadataV14()
	if err != nil {
		return nil, err
	}
	v15, err := MetadataV15Opaque()
	if err != nil {
		return nil, err
	}
	s.handlers["state_getMetadata"] = func(*Call) (any, error) { return "0x" + hex.EncodeToString(v14), nil }
	s.handlers["state_call"] = func(c *Call) (any, error) {
		var fn string
		if len(c.Params) > 0 && json.Unmarshal(c.Params[0], &fn) == nil {
			switch fn {
			case "Metadata_metadata_at_version":
				return "0x" + hex.EncodeToString(v15), nil
			case "Metadata_metadata_versions":
				return "0x080e0000000f000000", nil
			}
		}
		return s.recorded(c.Method, c.Params)
	}

	s.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("replay: listen: %w", err)
	}
	s.http = &http.Server{Handler: http.HandlerFunc(s.serveWS), ReadHeaderTimeout: 5 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.http.Serve(s.ln)
	}()
	return s, nil
}

// URL is the ws:// endpoint of the server.
func (s *Server) URL() string { return "ws://" + s.ln.Addr().String() }

// Handle makes h answer method (replacing the recording and built-ins for it).
func (s *Server) Handle(method string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[alias(method)] = h
}

// AnyParams makes method answer with resp (a JSON response object such as {"result": ...})
// when no recording matches its params; use it for block-independent answers.
func (s *Server) AnyParams(method string, resp json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.anyParams[alias(method)] = resp
}

// AnyParamsFromRecording makes method answer with one of its recorded responses (the
// smallest params key, for determinism) whenever no recording matches exactly.
func (s *Server) AnyParamsFromRecording(method string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := alias(method)
	keys := make([]string, 0, len(s.responses[m]))
	for k := range s.responses[m] {
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return fmt.Errorf("replay: no recording of %s", method)
	}
	sort.Strings(keys)
	s.anyParams[m] = s.responses[m][keys[0]]
	return nil
}

// Push sends a subscription notification to every open connection, as a node
// does when the subscribed event happens later than the subscribing call (see
// Call.Notify for one sent with the answer). Clients ignore subscriptions
// they do not hold. It returns the first write error.
func (s *Server) Push(method, subscription string, result any) error {
	s.mu.Lock()
	conns := make([]*websocket.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	msg := map[string]any{
		"jsonrpc": "2.0", "method": method,
		"params": map[string]any{"subscription": subscription, "result": result},
	}
	var first error
	for _, c := range conns {
		if err := writeJSON(context.Background(), c, msg); err != nil && first == nil {
			first = fmt.Errorf("replay: push %s: %w", method, err)
		}
	}
	return first
}

// ServeNewHeads makes the server accept chain_subscribeNewHeads and
// chain_unsubscribeNewHeads; NewHead then announces a block to every open
// subscription. Like a node, nothing is sent on subscribing.
func (s *Server) ServeNewHeads() {
	s.mu.Lock()
	if s.headSubs == nil {
		s.headSubs = map[string]bool{}
	}
	s.mu.Unlock()
	s.Handle("chain_subscribeNewHeads", func(c *Call) (any, error) {
		s.mu.Lock()
		s.headSeq++
		id := fmt.Sprintf("newheads-%d", s.headSeq)
		s.mu.Unlock()
		// Open once the answer is out, so no head reaches the client before
		// it knows the subscription id.
		c.afterSent(func() {
			s.mu.Lock()
			s.headSubs[id] = true
			s.mu.Unlock()
		})
		return id, nil
	})
	s.Handle("chain_unsubscribeNewHeads", func(c *Call) (any, error) {
		var id string
		if len(c.Params) == 0 || json.Unmarshal(c.Params[0], &id) != nil {
			return nil, &Error{Code: -32602, Message: "want the subscription id"}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		ok := s.headSubs[id]
		delete(s.headSubs, id)
		return ok, nil
	})
}

// HeadSubscriptions is the number of open new-head subscriptions.
func (s *Server) HeadSubscriptions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.headSubs)
}

// NewHead announces block n (a header with its number and zero hashes) to
// every open new-head subscription.
func (s *Server) NewHead(n uint64) error {
	s.mu.Lock()
	ids := make([]string, 0, len(s.headSubs))
	for id := range s.headSubs {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	sort.Strings(ids)
	zero := "0x" + strings.Repeat("00", 32)
	head := map[string]any{
		"number": fmt.Sprintf("0x%x", n), "parentHash": zero, "stateRoot": zero,
		"extrinsicsRoot": zero, "digest": map[string]any{"logs": []string{}},
	}
	for _, id := range ids {
		if err := s.Push("chain_newHead", id, head); err != nil {
			return err
		}
	}
	return nil
}

// Requests returns "method params" lines for every request served so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// DropConnections closes every open websocket, as a node restart would; the
// new-head subscriptions end with them.
func (s *Server) DropConnections() {
	s.mu.Lock()
	clear(s.headSubs)
	conns := make([]*websocket.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.CloseNow()
	}
}

// Close stops the server and waits for its goroutines.
func (s *Server) Close() error {
	err := s.http.Close()
	s.DropConnections()
	s.wg.Wait()
	return err
}

func (s *Server) recorded(method string, params []json.RawMessage) (any, error) {
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	key, err := Normalize(raw)
	if err != nil {
		return nil, &Error{Code: -32602, Message: err.Error()}
	}
	s.mu.Lock()
	resp, ok := s.responses[method][key]
	if !ok {
		resp, ok = s.anyParams[method]
	}
	s.mu.Unlock()
	if !ok {
		return nil, &Error{Code: -32601, Message: fmt.Sprintf("replay: no recording for %s %s", method, raw)}
	}
	var obj struct {
		Result json.RawMessage `json:"result"`
		Error  *Error          `json:"error"`
	}
	if err := json.Unmarshal(resp, &obj); err != nil {
		return nil, fmt.Errorf("replay: recorded response for %s: %w", method, err)
	}
	if obj.Error != nil {
		return nil, obj.Error
	}
	if obj.Result == nil {
		return json.RawMessage("null"), nil
	}
	return obj.Result, nil
}

type request struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	c.SetReadLimit(16 << 20)
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = c.CloseNow()
	}()
	ctx := r.Context()
	for {
		_, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		var req request
		if err := json.Unmarshal(msg, &req); err != nil {
			_ = writeJSON(ctx, c, map[string]any{"jsonrpc": "2.0", "id": nil,
				"error": &Error{Code: -32700, Message: "parse error"}})
			continue
		}
		outs, sent := s.answer(req)
		for _, out := range outs {
			if err := writeJSON(ctx, c, out); err != nil {
				return
			}
		}
		for _, f := range sent {
			f()
		}
	}
}

func (s *Server) answer(req request) ([]any, []func()) {
	method := alias(req.Method)
	s.mu.Lock()
	s.requests = append(s.requests, fmt.Sprintf("%s %s", req.Method, joinRaw(req.Params)))
	h := s.handlers[method]
	s.mu.Unlock()
	call := &Call{Method: method, Params: req.Params}
	var res any
	var err error
	if h != nil {
		res, err = h(call)
	} else {
		res, err = s.recorded(method, req.Params)
	}
	resp := map[string]any{"jsonrpc": "2.0", "id": req.ID}
	var rpcErr *Error
	switch {
	case errors.As(err, &rpcErr):
		resp["error"] = rpcErr
	case err != nil:
		resp["error"] = &Error{Code: -32000, Message: err.Error()}
	default:
		resp["result"] = res
	}
	s.log.Debug("replay", "method", req.Method, "error", err)
	return append([]any{resp}, call.after...), call.sent
}

func joinRaw(ps []json.RawMessage) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = string(p)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func writeJSON(ctx context.Context, c *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, b)
}

// Normalize renders a JSON params array as a canonical key: hex strings lower-cased without
// 0x, numbers as written, trailing nulls removed, no whitespace.
func Normalize(params json.RawMessage) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("params are not JSON: %w", err)
	}
	if v == nil {
		v = []any{}
	}
	list, ok := v.([]any)
	if !ok {
		return "", fmt.Errorf("params are not a JSON array")
	}
	for len(list) > 0 && list[len(list)-1] == nil {
		list = list[:len(list)-1]
	}
	out, err := json.Marshal(normValue(list))
	return string(out), err
}

func normValue(v any) any {
	switch x := v.(type) {
	case string:
		return normHex(x)
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = normValue(x[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normValue(e)
		}
		return out
	}
	return v
}

func normHex(s string) string {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(t)%2 != 0 {
		return s
	}
	if _, err := hex.DecodeString(t); err != nil {
		return s
	}
	return "0x" + strings.ToLower(t)
}
