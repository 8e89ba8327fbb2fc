package devnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/testutil"
)

// TestDevnetServesTheAPI runs the devnet with --api.addr and allocation on
// (no canary leases): it prints the API's URL and a key that may rent,
// and the public read endpoints show its miner once the validator
// challenged it.
func TestDevnetServesTheAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a devnet; skipped with -short")
	}
	testutil.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var out syncBuffer
	addr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	d, err := New(Config{Dir: t.TempDir(), Miners: 1, Allocation: true, Image: testutil.SSHImage(), CanaryInterval: -1,
		BlockTime: 200 * time.Millisecond, Refresh: time.Second, APIAddr: addr}, Deps{Out: &out, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	get := func(path, key string) (int, []byte) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	var miners struct {
		Miners []struct {
			Hotkey     string
			Challenges int
		}
	}
	for {
		if code, b := get("/v1/miners", ""); code == http.StatusOK {
			if json.Unmarshal(b, &miners) == nil && len(miners.Miners) == 1 && miners.Miners[0].Challenges > 0 {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("devnet stopped: %v\n%s", err, out.String())
		case <-ctx.Done():
			t.Fatalf("the API never showed a challenged miner: %+v\n%s", miners, out.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	text := out.String()
	if !strings.Contains(text, "renter API and dashboard at http://"+addr+"/") {
		t.Errorf("the URL is not printed:\n%s", text)
	}
	if !strings.Contains(text, "allocation on") {
		testutil.SkipOrFail(t, "allocation is off on this machine, so no key is printed:\n%s", text)
	}
	m := regexp.MustCompile(`API key \(scopes read, rent\): (cpk_[0-9a-f_]+)`).FindStringSubmatch(text)
	if m == nil || !strings.Contains(text, "curl -H 'Authorization: Bearer "+m[1]+"'") {
		t.Fatalf("no key printed:\n%s", text)
	}
	if code, b := get("/v1/rentals", m[1]); code != http.StatusOK && code != http.StatusNotImplemented {
		t.Errorf("rentals with the printed key: %d %s", code, b)
	}
	if code, _ := get("/v1/rentals", ""); code != http.StatusUnauthorized {
		t.Errorf("rentals without a key: %d", code)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
}

func TestDevnetAPIOnLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:8080", "8080", "203.0.113.1:80"} {
		_, err := New(Config{APIAddr: addr}, Deps{})
		var fe *config.FieldError
		if !errors.As(err, &fe) || fe.Field != "devnet.Config.APIAddr" {
			t.Errorf("%s: %v", addr, err)
		}
	}
	if _, err := New(Config{APIAddr: "127.0.0.1:8080"}, Deps{}); err != nil {
		t.Error(err)
	}
}
