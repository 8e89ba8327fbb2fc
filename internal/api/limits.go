package api

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxLimiters bounds the limiters kept; past it, the idle ones are dropped.
const maxLimiters = 10_000

// limiters are the request rate limits, one token bucket per key (or per
// client address for requests without a key) holding a minute's worth of
// requests. Guarded by mu.
type limiters struct {
	mu sync.Mutex
	m  map[string]*limiter
}

type limiter struct {
	lim       *rate.Limiter
	perMinute int
	seen      time.Time
}

func newLimiters() *limiters { return &limiters{m: map[string]*limiter{}} }

// allow takes one request from the bucket of id, which refills perMinute
// requests a minute; when it is empty, ok is false and retry says when the
// next request would pass.
func (l *limiters) allow(id string, perMinute int, now time.Time) (ok bool, retry time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.m[id]
	if e == nil || e.perMinute != perMinute {
		if e == nil && len(l.m) >= maxLimiters {
			l.dropIdle(now)
		}
		e = &limiter{lim: rate.NewLimiter(rate.Limit(float64(perMinute)/60), perMinute), perMinute: perMinute}
		l.m[id] = e
	}
	e.seen = now
	res := e.lim.ReserveN(now, 1)
	if !res.OK() {
		return false, time.Minute
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// dropIdle forgets the buckets unused for a minute (they are full again).
func (l *limiters) dropIdle(now time.Time) {
	for id, e := range l.m {
		if now.Sub(e.seen) > time.Minute {
			delete(l.m, id)
		}
	}
}
