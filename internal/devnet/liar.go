package devnet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/moby/moby/client"

	"github.com/sn27/compute/internal/specs"
)

// LiarCPUs is what the lying miner's specs claim; its leases get one CPU.
const LiarCPUs = 8

// lyingSpecs reports this machine's inventory with LiarCPUs CPUs.
type lyingSpecs struct{ real *specs.Collector }

func (l lyingSpecs) Collect(ctx context.Context) (specs.Specs, error) {
	s, err := l.real.Collect(ctx)
	if err != nil {
		return s, err
	}
	s.CPU.Count, s.CPU.Logical = LiarCPUs, LiarCPUs
	return s, nil
}

// lyingDocker is a Docker client for the lying miner: the daemon appears
// to have LiarCPUs CPUs, so the miner's lease manager grants what the
// specs claim, and every container it creates is pinned to CPU 0 with one
// CPU's worth of quota, whatever it asked for. It talks to the local
// daemon's unix socket ($DOCKER_HOST or /var/run/docker.sock).
func lyingDocker() (*client.Client, error) {
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		host = "unix:///var/run/docker.sock"
	}
	sock, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		return nil, fmt.Errorf("the lying miner needs the Docker daemon on a unix socket, DOCKER_HOST is %q", host)
	}
	var d net.Dialer
	next := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return d.DialContext(ctx, "unix", sock)
	}}
	hc := &http.Client{Transport: &lyingTransport{next: next}}
	return client.New(client.WithHost(host), client.WithHTTPClient(hc), client.WithAPIVersionNegotiation())
}

// lyingTransport rewrites container creations and the daemon's info.
type lyingTransport struct{ next http.RoundTripper }

var (
	createPath = regexp.MustCompile(`/containers/create$`)
	infoPath   = regexp.MustCompile(`/info$`)
)

func (t *lyingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && createPath.MatchString(r.URL.Path) && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = rewriteJSON(body, func(spec map[string]any) {
			if hc, ok := spec["HostConfig"].(map[string]any); ok {
				hc["CpusetCpus"] = "0"
				hc["NanoCpus"] = 1e9
			}
		})
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	res, err := t.next.RoundTrip(r)
	if err != nil || r.Method != http.MethodGet || !infoPath.MatchString(r.URL.Path) || res.StatusCode != http.StatusOK {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	body = rewriteJSON(body, func(m map[string]any) { m["NCPU"] = LiarCPUs })
	res.Body = io.NopCloser(bytes.NewReader(body))
	res.ContentLength = int64(len(body))
	res.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return res, nil
}

// rewriteJSON applies f to a JSON object; anything else passes unchanged.
func rewriteJSON(body []byte, f func(map[string]any)) []byte {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // sizes stay integers
	if dec.Decode(&m) != nil || m == nil {
		return body
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}
