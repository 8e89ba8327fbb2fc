package wire

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sn27/compute/internal/wallet"
)

// Answers a hostile miner's axon may give the validator's dendrite.
func TestDendriteHostileAxon(t *testing.T) {
	alice, _ := wallet.FromURI("//Alice")
	ctx := context.Background()

	t.Run("redirect is not followed", func(t *testing.T) {
		var hits atomic.Int32
		other := fakeAxon(t, func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			w.Write([]byte(`{}`))
		})
		for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
			target := fakeAxon(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "http://127.0.0.1:"+strconv.Itoa(other.Port)+"/Specs", code)
			})
			for _, client := range []*http.Client{nil, {}} {
				d, err := NewDendrite(DendriteConfig{Signer: alice, Client: client, Logger: quietLogger()})
				must(t, err)
				r := Call(ctx, d, target, &Specs{}, time.Second)
				if r.OK() {
					t.Errorf("%d: a redirect counted as an answer", code)
				}
			}
		}
		if n := hits.Load(); n != 0 {
			t.Fatalf("the signed request followed a redirect %d times", n)
		}
	})

	t.Run("header flood", func(t *testing.T) {
		target := fakeAxon(t, func(w http.ResponseWriter, r *http.Request) {
			for i := range 4000 {
				w.Header()["X-Flood-"+strconv.Itoa(i)] = []string{strings.Repeat("a", 64)}
			}
			w.Write([]byte(`{}`))
		})
		d, err := NewDendrite(DendriteConfig{Signer: alice, Logger: quietLogger()})
		must(t, err)
		r := Call(ctx, d, target, &Specs{}, 2*time.Second)
		if r.OK() || r.Err == nil || !strings.Contains(r.Err.Error(), "header") {
			t.Fatalf("%d KiB of headers accepted: %d %v", 4000*80>>10, r.StatusCode, r.Err)
		}
	})

	t.Run("compressed body is not inflated", func(t *testing.T) {
		var asked atomic.Value
		asked.Store("")
		var bomb bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestSpeed)
		zw.Write([]byte(`{"specs_output":"`))
		zw.Write(bytes.Repeat([]byte("a"), 9<<20))
		zw.Write([]byte(`"}`))
		zw.Close()
		target := fakeAxon(t, func(w http.ResponseWriter, r *http.Request) {
			asked.Store(r.Header.Get("Accept-Encoding"))
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Type", "application/json")
			w.Write(bomb.Bytes())
		})
		d, err := NewDendrite(DendriteConfig{Signer: alice, Logger: quietLogger()})
		must(t, err)
		r := Call(ctx, d, target, &Specs{}, 2*time.Second)
		if r.OK() {
			t.Fatalf("a gzip body was inflated into %d bytes of specs", len(r.Synapse.SpecsOutput))
		}
		if got := asked.Load().(string); got != "" {
			t.Fatalf("dendrite asked for compression: Accept-Encoding %q", got)
		}
	})
}
