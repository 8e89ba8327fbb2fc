package wire

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// BenchmarkChallengeRoundTrip measures signed Challenge round trips over
// loopback: dendrite sign + HTTP + axon verify + forward + response parse.
func BenchmarkChallengeRoundTrip(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	syn := NewChallenge(testChallenge())
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		r := Call(ctx, e.d, e.target, syn, 5*time.Second)
		if r.StatusCode != http.StatusOK {
			b.Fatalf("status %d %s %v", r.StatusCode, r.StatusMessage, r.Err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkChallengeParallel runs round trips from several goroutines, one
// dendrite each: an axon rejects a dendrite's nonces that arrive out of order.
func BenchmarkChallengeParallel(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	syn := NewChallenge(testChallenge())
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		d := e.dendrite(StyleModern, e.callKP)
		for pb.Next() {
			if r := Call(ctx, d, e.target, syn, 5*time.Second); r.StatusCode != http.StatusOK {
				b.Errorf("status %d %s %v", r.StatusCode, r.StatusMessage, r.Err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
