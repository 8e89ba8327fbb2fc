package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sn27/compute/internal/clip"
	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/rentals"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/version"
)

// Targets says where an owner's (an API key id's) events go; the API key
// store implements it. ok is false when the owner has no webhook.
type Targets interface {
	WebhookTarget(ctx context.Context, owner string) (url, secret string, ok bool, err error)
}

// Config configures a Dispatcher. Zero values take the defaults.
type Config struct {
	// MaxAttempts is how many times a delivery is tried before it is given up (default 8).
	MaxAttempts int
	// BaseBackoff is the wait after the first failed attempt, doubled after
	// each further one (default 1s).
	BaseBackoff time.Duration
	// MaxBackoff caps the wait between attempts (default 10m).
	MaxBackoff time.Duration
	// Timeout bounds each POST, from connecting to reading the answer (default 10s).
	Timeout time.Duration
	// Concurrency is how many deliveries are in flight at once (default 8).
	Concurrency int
	// Retention is how long delivered and given-up deliveries are kept (default 7 days).
	Retention time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{MaxAttempts: 8, BaseBackoff: time.Second, MaxBackoff: 10 * time.Minute, Timeout: 10 * time.Second,
		Concurrency: 8, Retention: 7 * 24 * time.Hour}
}

// Validate reports the first setting the Dispatcher refuses (zero values
// are the defaults).
func (c Config) Validate() error {
	switch {
	case c.MaxAttempts < 0 || c.MaxAttempts > 100:
		return config.Errorf("webhook.Config.MaxAttempts", "must be between 1 and 100, got %d", c.MaxAttempts)
	case c.BaseBackoff < 0:
		return config.Errorf("webhook.Config.BaseBackoff", "must not be negative, got %v", c.BaseBackoff)
	case c.MaxBackoff < 0 || (c.MaxBackoff > 0 && c.MaxBackoff < c.BaseBackoff):
		return config.Errorf("webhook.Config.MaxBackoff", "must not be below the base backoff %v, got %v", c.BaseBackoff, c.MaxBackoff)
	case c.Timeout < 0:
		return config.Errorf("webhook.Config.Timeout", "must not be negative, got %v", c.Timeout)
	case c.Concurrency < 0 || c.Concurrency > 256:
		return config.Errorf("webhook.Config.Concurrency", "must be between 1 and 256, got %d", c.Concurrency)
	case c.Retention < 0:
		return config.Errorf("webhook.Config.Retention", "must not be negative, got %v", c.Retention)
	}
	return nil
}

// Deps are the Dispatcher's collaborators, opened by the caller.
type Deps struct {
	// Store keeps the outbox (webhook_deliveries). Required.
	Store *store.Validator
	// Targets gives each owner's URL and secret. Required.
	Targets Targets
	// Client sends the deliveries (nil: a plain one). Redirects are never
	// followed and each POST is bounded by Config.Timeout, whatever the client says.
	Client *http.Client
	// Log defaults to slog.Default().
	Log *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// maxAnswer is how much of a receiver's answer is read (for the log).
const maxAnswer = 1024

// idlePoll is the longest the dispatcher sleeps without looking at the outbox.
const idlePoll = time.Minute

// Dispatcher delivers the rentals' events to their owners' webhooks from a
// persistent outbox: Notify stores a delivery, Run sends the due ones,
// signed, and retries failures with exponential backoff until MaxAttempts;
// a restart resumes where the outbox stands (a delivery cut short is sent
// again: receivers deduplicate by X-Compute-Delivery). Safe for concurrent
// use; mu guards inflight.
type Dispatcher struct {
	cfg     Config
	store   *store.Validator
	targets Targets
	client  *http.Client
	log     *slog.Logger
	now     func() time.Time
	wake    chan struct{}

	mu       sync.Mutex
	inflight map[int64]bool
}

var _ rentals.Notifier = (*Dispatcher)(nil)

// New checks cfg and deps; it contacts nothing.
func New(cfg Config, deps Deps) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	def := DefaultConfig()
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = def.MaxAttempts
	}
	if cfg.BaseBackoff == 0 {
		cfg.BaseBackoff = def.BaseBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = max(def.MaxBackoff, cfg.BaseBackoff)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = def.Timeout
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = def.Concurrency
	}
	if cfg.Retention == 0 {
		cfg.Retention = def.Retention
	}
	if deps.Store == nil || deps.Targets == nil {
		return nil, errors.New("webhook: a store and targets are required")
	}
	client := &http.Client{}
	if deps.Client != nil {
		c := *deps.Client
		client = &c
	}
	client.Timeout = cfg.Timeout
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Dispatcher{cfg: cfg, store: deps.Store, targets: deps.Targets, client: client,
		log: deps.Log.With("component", "webhook"), now: deps.Now, wake: make(chan struct{}, 1), inflight: map[int64]bool{}}, nil
}

// payload is an event as stored in the outbox.
type payload struct {
	Type   string          `json:"type"`
	Time   time.Time       `json:"time"`
	Rental json.RawMessage `json:"rental"`
}

// Body is the JSON a receiver gets.
type Body struct {
	ID     string          `json:"id"` // the delivery id, as in X-Compute-Delivery
	Type   string          `json:"type"`
	Time   time.Time       `json:"time"`
	Rental json.RawMessage `json:"rental"`
}

// Notify queues ev for owner's webhook, when owner has one. It returns once
// the delivery is stored (or logged as lost); Run sends it.
func (d *Dispatcher) Notify(ctx context.Context, owner string, ev rentals.Event) {
	_, _, ok, err := d.targets.WebhookTarget(ctx, owner)
	if err == nil && !ok {
		return // no webhook
	}
	if err != nil {
		d.log.Warn("webhook target unreadable; the event is queued anyway", "owner", owner, "event", ev.Type, "err", err)
	}
	rental, err := json.Marshal(ev.Rental)
	if err != nil {
		d.log.Error("event not queued", "owner", owner, "event", ev.Type, "err", err)
		return
	}
	p, err := json.Marshal(payload{Type: ev.Type, Time: ev.Time.UTC(), Rental: rental})
	if err != nil {
		d.log.Error("event not queued", "owner", owner, "event", ev.Type, "err", err)
		return
	}
	id, err := d.store.EnqueueWebhook(ctx, owner, ev.Type, p, d.now())
	if err != nil {
		d.log.Error("event not queued: its webhook delivery is lost", "owner", owner, "event", ev.Type, "rental", ev.Rental.ID, "err", err)
		return
	}
	d.log.Debug("webhook delivery queued", "id", id, "owner", owner, "event", ev.Type)
	d.poke()
}

func (d *Dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run sends the due deliveries until ctx ends, and returns after the
// deliveries in flight have stopped (one cut short stays due).
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	var pruned time.Time
	for {
		if now := d.now(); now.Sub(pruned) >= time.Hour {
			if n, err := d.store.PruneWebhooks(ctx, now.Add(-d.cfg.Retention)); err != nil {
				d.log.Warn("old webhook deliveries not pruned", "err", err)
			} else if n > 0 {
				d.log.Debug("old webhook deliveries pruned", "count", n)
			}
			pruned = now
		}
		d.start(ctx, &wg)
		wait := d.untilNext(ctx)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-d.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// start begins the due deliveries not in flight, up to Concurrency in all.
func (d *Dispatcher) start(ctx context.Context, wg *sync.WaitGroup) {
	d.mu.Lock()
	free := d.cfg.Concurrency - len(d.inflight)
	d.mu.Unlock()
	if free <= 0 {
		return
	}
	due, err := d.store.DueWebhooks(ctx, d.now(), free+d.cfg.Concurrency)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("webhook outbox unreadable", "err", err)
		}
		return
	}
	for _, dlv := range due {
		d.mu.Lock()
		if d.inflight[dlv.ID] || len(d.inflight) >= d.cfg.Concurrency {
			d.mu.Unlock()
			continue
		}
		d.inflight[dlv.ID] = true
		d.mu.Unlock()
		// A worker records its attempt before it leaves inflight: read
		// again, so that an attempt finished since the list was read is
		// not made twice.
		fresh, err := d.store.WebhookDelivery(ctx, dlv.ID)
		if err != nil || !fresh.Pending() || fresh.NextAt.After(d.now()) {
			d.mu.Lock()
			delete(d.inflight, dlv.ID)
			d.mu.Unlock()
			continue
		}
		dlv = fresh
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.deliver(ctx, dlv)
			d.mu.Lock()
			delete(d.inflight, dlv.ID)
			d.mu.Unlock()
			d.poke()
		}()
	}
}

// untilNext is how long to sleep before looking at the outbox again.
func (d *Dispatcher) untilNext(ctx context.Context) time.Duration {
	next, ok, err := d.store.NextWebhookDue(ctx)
	if err != nil || !ok {
		return idlePoll
	}
	wait := next.Sub(d.now())
	switch {
	case wait <= 0:
		// Due now, but in flight or beyond the concurrency: a finished
		// delivery wakes the loop; look again soon in any case.
		return time.Second
	case wait > idlePoll:
		return idlePoll
	}
	return wait
}

// Backoff is the wait after the attempt-th failed attempt (1, 2, ...):
// BaseBackoff doubled attempt-1 times, at most MaxBackoff.
func (d *Dispatcher) Backoff(attempt int) time.Duration {
	b := d.cfg.BaseBackoff
	for i := 1; i < attempt && b < d.cfg.MaxBackoff; i++ {
		b *= 2
	}
	return min(b, d.cfg.MaxBackoff)
}

// deliver makes one attempt and records it.
func (d *Dispatcher) deliver(ctx context.Context, dlv store.WebhookDelivery) {
	giveUp, err := d.send(ctx, dlv)
	if ctx.Err() != nil {
		return // stopping: the attempt does not count, the delivery stays due
	}
	at := d.now()
	a := store.WebhookAttempt{At: at}
	attempts := dlv.Attempts + 1
	switch {
	case err == nil:
		a.Delivered = true
		d.log.Debug("webhook delivered", "id", dlv.ID, "owner", dlv.Owner, "event", dlv.Event, "attempt", attempts)
	case giveUp || attempts >= d.cfg.MaxAttempts:
		a.GiveUp, a.Error = true, clip.String(err.Error(), 500)
		d.log.Warn("webhook delivery given up", "id", dlv.ID, "owner", dlv.Owner, "event", dlv.Event, "attempts", attempts, "err", err)
	default:
		a.Error, a.NextAt = clip.String(err.Error(), 500), at.Add(d.Backoff(attempts))
		d.log.Info("webhook delivery failed; will retry", "id", dlv.ID, "owner", dlv.Owner, "event", dlv.Event,
			"attempt", attempts, "next", a.NextAt.UTC().Format(time.RFC3339), "err", err)
	}
	if err := d.store.RecordWebhookAttempt(ctx, dlv.ID, a); err != nil {
		d.log.Warn("webhook attempt not recorded", "id", dlv.ID, "err", err)
	}
}

// send POSTs the delivery to its owner's webhook; giveUp is true when no
// retry can help (no webhook any more, an unusable URL).
func (d *Dispatcher) send(ctx context.Context, dlv store.WebhookDelivery) (giveUp bool, err error) {
	target, secret, ok, err := d.targets.WebhookTarget(ctx, dlv.Owner)
	switch {
	case err != nil:
		return false, fmt.Errorf("read the webhook target: %w", err)
	case !ok || target == "":
		return true, errors.New("the owner has no webhook any more")
	case secret == "":
		return true, errors.New("the owner's webhook has no secret to sign with")
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return true, fmt.Errorf("the webhook URL %q is not an http or https URL", clip.String(target, 100))
	}
	var p payload
	if err := json.Unmarshal(dlv.Payload, &p); err != nil {
		return true, fmt.Errorf("the stored event is unreadable: %w", err)
	}
	id := strconv.FormatInt(dlv.ID, 10)
	body, err := json.Marshal(Body{ID: id, Type: p.Type, Time: p.Time, Rental: p.Rental})
	if err != nil {
		return true, fmt.Errorf("encode the delivery: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return true, fmt.Errorf("build the request: %w", err)
	}
	ts := d.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "compute-webhook/"+version.String)
	req.Header.Set(HeaderEvent, dlv.Event)
	req.Header.Set(HeaderDelivery, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(secret, ts, body))
	resp, err := d.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("POST %s: %w", u.Redacted(), err)
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	msg := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, string(answer))
	return false, fmt.Errorf("POST %s: %s: %s", u.Redacted(), resp.Status, clip.String(strings.TrimSpace(msg), 200))
}
