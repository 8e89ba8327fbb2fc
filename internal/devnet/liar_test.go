package devnet

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/testutil"
)

// TestLyingTransport: container creations are pinned to one CPU, the
// daemon's info claims LiarCPUs CPUs, and everything else passes as is.
func TestLyingTransport(t *testing.T) {
	var created []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/containers/create"):
			created, _ = io.ReadAll(r.Body)
			w.Write([]byte(`{"Id":"abc"}`))
		case strings.HasSuffix(r.URL.Path, "/info"):
			w.Write([]byte(`{"NCPU":2,"MemTotal":68719476736}`))
		default:
			w.Write([]byte(`{"NCPU":2}`))
		}
	}))
	defer srv.Close()
	hc := &http.Client{Transport: &lyingTransport{next: http.DefaultTransport}}

	body := `{"Image":"x","HostConfig":{"CpusetCpus":"0-7","NanoCpus":8000000000,"Memory":8589934592}}`
	res, err := hc.Post(srv.URL+"/v1.47/containers/create", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var spec struct {
		HostConfig struct {
			CpusetCpus string
			NanoCpus   int64
			Memory     int64
		}
	}
	if err := json.Unmarshal(created, &spec); err != nil {
		t.Fatalf("%v: %s", err, created)
	}
	if h := spec.HostConfig; h.CpusetCpus != "0" || h.NanoCpus != 1e9 || h.Memory != 8589934592 {
		t.Fatalf("created with %+v (%s)", h, created)
	}
	if !bytes.Contains(created, []byte(`8589934592`)) {
		t.Fatalf("the memory limit lost its integer form: %s", created)
	}

	get := func(path string) map[string]any {
		res, err := hc.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := get("/v1.47/info"); m["NCPU"] != float64(LiarCPUs) || m["MemTotal"] != float64(68719476736) {
		t.Fatalf("info %v", m)
	}
	if m := get("/v1.47/version"); m["NCPU"] != float64(2) {
		t.Fatalf("another path was rewritten: %v", m)
	}
}

// TestLiarCaught runs the devnet with one honest miner and the liar on the
// real Docker daemon with the SSH image: the canary leases verify the
// honest miner and catch the liar with cpu_mismatch during the run, the
// validator cuts the liar's score, and the summary says so.
func TestLiarCaught(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a devnet with real leases; skipped with -short")
	}
	testutil.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	var out syncBuffer
	caught := make(chan struct{})
	go func() {
		// Stop as soon as the summary shows the liar caught and the
		// honest miner verified, with weights on chain.
		for ctx.Err() == nil {
			s := out.String()
			if strings.Contains(s, "Liar(uid") && strings.Contains(s, "verified=no(cpu_mismatch)") &&
				strings.Contains(s, "verified=yes") && strings.Contains(s, "weights committed") {
				close(caught)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-caught:
			time.Sleep(3 * time.Second) // a weights round with the penalty
			stop()
		case <-ctx.Done():
		}
	}()
	start := time.Now()
	d, err := New(Config{Dir: t.TempDir(), Miners: 1, Liar: true, Allocation: true, Image: testutil.SSHImage(),
		Refresh: 500 * time.Millisecond}, Deps{Out: &out, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Run(runCtx)
	if err != nil && runCtx.Err() == nil {
		t.Fatal(err)
	}
	res := d.Result()
	t.Logf("ran %v\n%s", time.Since(start).Round(time.Second), tail(out.String(), 12))
	if !res.Canary {
		t.Fatal("canary leases off")
	}
	var liar, honest *Row
	for i := range res.Rows {
		switch res.Rows[i].Name {
		case "Liar":
			liar = &res.Rows[i]
		case "Miner1":
			honest = &res.Rows[i]
		}
	}
	if liar == nil || liar.Verified != store.CanaryFailed || liar.Reason != "cpu_mismatch" || !liar.Penalised || liar.Weight != 0 {
		t.Fatalf("liar %+v", liar)
	}
	if honest == nil || honest.Verified != store.CanaryVerified || honest.Login <= 0 {
		t.Fatalf("honest miner %+v", honest)
	}
	if !strings.Contains(out.String(), "liar caught: Liar (uid ") || !strings.Contains(out.String(), "reason cpu_mismatch") {
		t.Fatalf("summary:\n%s", tail(out.String(), 12))
	}
}

// syncBuffer is the summary sink, read while Run writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
