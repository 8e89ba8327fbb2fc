package canary

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/moby/moby/client"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/miner"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/specs"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/testnet"
	"github.com/sn27/compute/internal/testutil"
	"github.com/sn27/compute/internal/wallet"
	"github.com/sn27/compute/internal/wire"
)

const e2eNetuid = 1

// e2eLogger shows the miners' and the canary's logs with CANARY_TEST_LOG=1.
func e2eLogger() *slog.Logger {
	if os.Getenv("CANARY_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// e2eNet is a dev chain with a validator (its store, renter and canary)
// and miners running the real miner role on loopback.
type e2eNet struct {
	t         testing.TB
	net       *testnet.Net
	chain     *devchain.Chain
	cold      *wallet.Keypair
	validator *wallet.Keypair
	dir       string
	store     *store.Validator
	docker    *client.Client
}

func newE2ENet(t testing.TB) *e2eNet {
	t.Helper()
	docker := testutil.Docker(t)
	ctx := context.Background()
	p := testnet.Params()
	p.MaxAllowedUIDs = 16
	tn := testnet.New(t, testnet.Config{Netuid: e2eNetuid, Params: &p})
	n := &e2eNet{t: t, net: tn, chain: tn.Chain, cold: testnet.Key(t, "//Bob"), validator: testnet.Key(t, "//Bob//validator"), dir: t.TempDir(), docker: docker}
	if err := tn.Chain.Fund(ctx, n.cold.SS58Address(), 100_000*devchain.RaoPerTAO); err != nil {
		t.Fatal(err)
	}
	n.register(n.validator, 2000)
	var err error
	n.store, err = store.OpenValidator(ctx, filepath.Join(n.dir, store.ValidatorFile), store.DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.store.Close() })
	return n
}

func (n *e2eNet) register(hk *wallet.Keypair, tao uint64) {
	n.t.Helper()
	n.net.MustJoin(n.t, n.cold, hk, 0, tao)
}

// testMiner is a running internal/miner offering allocation on the real daemon.
type testMiner struct {
	hotkey *wallet.Keypair
	owner  string
}

// startMiner registers hk and runs a miner that reports claim, leases image
// and talks to Docker through docker (nil: the test's client).
func (n *e2eNet) startMiner(hk *wallet.Keypair, claim specs.Specs, image string, docker *client.Client) *testMiner {
	t := n.t
	t.Helper()
	n.register(hk, 0)
	b := make([]byte, 4)
	rand.Read(b)
	tm := &testMiner{hotkey: hk, owner: "test-canary-" + hex.EncodeToString(b)}
	if docker == nil {
		docker = n.docker
	}
	cfg := miner.Config{
		Netuid:             e2eNetuid,
		AxonIP:             "127.0.0.1",
		Solver:             "cpu",
		DataDir:            t.TempDir(),
		SpecsProbeBytes:    -1,
		SyncInterval:       200 * time.Millisecond,
		SpecsInterval:      time.Hour,
		Policy:             miner.PolicyConfig{UpdatedThreshold: 60, BlacklistExploiters: true},
		SSHBindIP:          "127.0.0.1",
		SSHPort:            testutil.FreePort(t),
		LeaseOwner:         tm.owner,
		Image:              image,
		Allocation:         true,
		AllocationRequired: true,
	}
	testutil.RemoveAtCleanup(t, n.docker, container.LabelOwner, tm.owner)
	m, err := miner.New(cfg, miner.Deps{Chain: n.chain, Hotkey: hk, Listener: testutil.Listen(t), GPUs: testnet.NoGPUs, Specs: testnet.FixedSpecs{Specs: claim}, Docker: docker, Log: e2eLogger()})
	if err != nil {
		t.Fatal(err)
	}
	testutil.RunRole(t, context.Background(), "miner", m.Run, m.Ready())
	return tm
}

// collectSpecs does what the validator's specs round does: query each
// miner's Specs and store them.
func (n *e2eNet) collectSpecs(ms ...*testMiner) {
	t := n.t
	t.Helper()
	ctx := context.Background()
	d, err := wire.NewDendrite(wire.DendriteConfig{Signer: n.validator, Logger: e2eLogger()})
	if err != nil {
		t.Fatal(err)
	}
	mg, err := n.chain.Metagraph(ctx, e2eNetuid)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		nr := mg.ByHotkey(m.hotkey.SS58Address())
		if nr == nil {
			t.Fatalf("miner %s is not on chain", m.hotkey.SS58Address())
		}
		res := wire.Call(ctx, d, wire.NeuronTarget(*nr), &wire.Specs{}, 10*time.Second)
		if !res.OK() {
			t.Fatalf("specs of %s: %d %s %v", nr.Hotkey, res.StatusCode, res.StatusMessage, res.Err)
		}
		raw := json.RawMessage(res.Synapse.SpecsOutput)
		if !json.Valid(raw) {
			raw, _ = json.Marshal(res.Synapse.SpecsOutput)
		}
		if err := n.store.SaveSpecs(ctx, nr.Hotkey, raw, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

func (n *e2eNet) renter() *renter.Renter {
	n.t.Helper()
	r, err := renter.New(renter.Config{Netuid: e2eNetuid, DataDir: n.dir, KeyBits: 2048, CheckTimeout: 10 * time.Second,
		AllocateTimeout: 60 * time.Second}, renter.Deps{Meta: n.chain, Store: n.store, Signer: n.validator, Log: e2eLogger()})
	if err != nil {
		n.t.Fatal(err)
	}
	return r
}

// machine is a specs report: cpus, available RAM and free disk.
func machine(cpus int, ram, disk int64) specs.Specs {
	return specs.Specs{
		CPU:      specs.CPU{Count: cpus, Logical: cpus},
		RAM:      specs.RAM{Total: 2 * ram, Available: ram, Free: ram},
		HardDisk: specs.Disk{Total: 2 * disk, Free: disk},
		GPU:      specs.GPU{Details: []specs.GPUDetail{}},
	}
}

// buildImage builds tag from the SSH test image with one Dockerfile RUN
// line (no network needed), removed when the test ends.
func (n *e2eNet) buildImage(tag, run string) string {
	t := n.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	df := "FROM " + testutil.SSHImage() + "\nRUN " + run + "\n"
	if err := container.BuildImage(ctx, n.docker, fstest.MapFS{"Dockerfile": {Data: []byte(df)}}, tag, nil, nil); err != nil {
		t.Fatalf("build %s: %v", tag, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		n.docker.ImageRemove(ctx, tag, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
	return tag
}

// lyingDocker serves the Docker API on a unix socket in front of the real
// daemon, as a miner with a doctored lease manager would behave: the host
// reports claimCPUs CPUs, and every lease container is pinned to CPU 0
// with one CPU's worth of quota whatever was asked.
func (n *e2eNet) lyingDocker(claimCPUs int) *client.Client {
	t := n.t
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	upstream := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
		upstream = strings.TrimPrefix(h, "unix://")
	}
	create := regexp.MustCompile(`/containers/create$`)
	info := regexp.MustCompile(`/info$`)
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = "http", "docker"
			if r.In.Method != http.MethodPost || !create.MatchString(r.In.URL.Path) {
				return
			}
			body, err := io.ReadAll(r.In.Body)
			if err != nil {
				return
			}
			var spec map[string]any
			if json.Unmarshal(body, &spec) == nil {
				if hc, ok := spec["HostConfig"].(map[string]any); ok {
					hc["CpusetCpus"] = "0"
					hc["NanoCpus"] = 1e9
				}
				body, _ = json.Marshal(spec)
			}
			r.Out.Body = io.NopCloser(bytes.NewReader(body))
			r.Out.ContentLength = int64(len(body))
			r.Out.Header.Set("Content-Length", strconv.Itoa(len(body)))
		},
		ModifyResponse: func(res *http.Response) error {
			if !info.MatchString(res.Request.URL.Path) || res.StatusCode != http.StatusOK {
				return nil
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				return err
			}
			var m map[string]any
			if json.Unmarshal(body, &m) == nil {
				m["NCPU"] = claimCPUs
				body, _ = json.Marshal(m)
			}
			res.Body = io.NopCloser(bytes.NewReader(body))
			res.ContentLength = int64(len(body))
			res.Header.Set("Content-Length", strconv.Itoa(len(body)))
			return nil
		},
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", upstream)
		}},
		ErrorLog: nil,
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c, err := client.New(client.WithHost("unix://"+sock), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestCanaryCatchesLiars runs canary leases against real miners on the real
// Docker daemon with the SSH image: an honest miner passes and is verified;
// a miner whose specs claim 8 CPUs but whose leases get 1 is caught with
// cpu_mismatch; a miner whose image's sshd lets nobody in is caught with
// ssh_login; one whose image has no sshd at all never brings its lease up
// (container_start). The failed miners leave the renter's candidates, every
// lease is released and no key is left on disk.
func TestCanaryCatchesLiars(t *testing.T) {
	n := newE2ENet(t)
	ctx := context.Background()
	suffix := strings.ToLower(rand.Text()[:8])
	deny := n.buildImage("compute-ssh-test-deny:"+suffix, `printf 'DenyUsers *\n' > /etc/ssh/sshd_config.d/00-deny.conf`)
	nosshd := n.buildImage("compute-ssh-test-nosshd:"+suffix, `rm /usr/sbin/sshd`)

	small := machine(1, 1<<30, 1<<30)
	honest := n.startMiner(testnet.Key(t, "//Bob//honest"), small, testutil.SSHImage(), nil)
	liar := n.startMiner(testnet.Key(t, "//Bob//liar"), machine(8, 1<<30, 1<<30), testutil.SSHImage(), n.lyingDocker(8))
	denied := n.startMiner(testnet.Key(t, "//Bob//denied"), small, deny, nil)
	broken := n.startMiner(testnet.Key(t, "//Bob//broken"), small, nosshd, nil)
	all := []*testMiner{honest, liar, denied, broken}
	n.collectSpecs(all...)

	r := n.renter()
	var need container.Requirement
	need.CPU.Count, need.RAM.Capacity = 1, 256<<20
	before, err := r.Candidates(ctx, need)
	if err != nil || len(before) != 4 {
		t.Fatalf("candidates before the canary: %d, %v", len(before), err)
	}

	cfg := DefaultConfig()
	cfg.Netuid = e2eNetuid
	cfg.DataDir = n.dir
	cfg.Concurrency = 1 // one at a time: the timings are the lease's own
	cfg.LoginTimeout = 8 * time.Second
	cfg.Timeout = 2 * time.Minute
	c, err := New(cfg, Deps{Meta: n.chain, Store: n.store, Leaser: r, Self: n.validator.SS58Address(), Log: e2eLogger()})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < len(all); i++ {
		passOnce(c)
	}
	t.Logf("four canary leases in %v", time.Since(start).Round(time.Millisecond))

	want := map[string]struct{ reason, state string }{
		honest.hotkey.SS58Address(): {ReasonOK, store.CanaryVerified},
		liar.hotkey.SS58Address():   {ReasonCPUMismatch, store.CanaryFailed},
		denied.hotkey.SS58Address(): {ReasonSSHLogin, store.CanaryFailed},
		broken.hotkey.SS58Address(): {ReasonContainerStart, store.CanaryFailed},
	}
	sts, err := n.store.CanaryStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for hk, w := range want {
		s := sts[hk]
		if s.Reason != w.reason || s.State != w.state {
			runs, _ := n.store.CanaryRuns(ctx, hk, 1)
			t.Errorf("%s: %s/%s, want %s/%s (%+v)", hk, s.State, s.Reason, w.state, w.reason, runs)
		}
	}
	if s := sts[honest.hotkey.SS58Address()]; s.VerifiedAt.IsZero() || s.VerifiedAt.Before(start) {
		t.Errorf("honest miner's verification time %v", s.VerifiedAt)
	}
	runs, err := n.store.CanaryRuns(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range runs {
		t.Logf("%-16s allocate-to-login %-8v %s %s", run.Reason, run.LoginTime, run.Measured, run.Detail)
		if run.Reason == ReasonOK || run.Reason == ReasonCPUMismatch {
			if run.LoginTime <= 0 || run.LoginTime > time.Minute {
				t.Errorf("%s: allocate-to-login %v", run.Reason, run.LoginTime)
			}
		}
		if run.Reason == ReasonCPUMismatch && !strings.Contains(run.Detail, "1 CPUs") {
			t.Errorf("liar's detail %q", run.Detail)
		}
	}

	after, err := r.Candidates(ctx, need)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 1 || after[0].Hotkey != honest.hotkey.SS58Address() {
		t.Fatalf("candidates after the canary: %+v, want the honest miner only", after)
	}
	for _, m := range all {
		if k := testutil.Containers(t, n.docker, container.LabelOwner, m.owner); k != 0 {
			t.Errorf("miner %s still has %d lease containers", m.hotkey.SS58Address(), k)
		}
	}
	if list, _ := n.store.Allocations(ctx); len(list) != 0 {
		t.Errorf("canary leases recorded as allocations: %+v", list)
	}
	for _, d := range []string{keyDir, "renter-keys"} {
		if es, _ := os.ReadDir(filepath.Join(n.dir, d)); len(es) != 0 {
			t.Errorf("keys left in %s: %v", d, es)
		}
	}
	if v := promtest.ToFloat64(c.m.Runs.WithLabelValues(ReasonCPUMismatch)); v != 1 {
		t.Errorf("cpu_mismatch runs counted %v", v)
	}
}

// BenchmarkCanaryLease times whole canary leases of one honest miner on
// the real daemon: allocate-to-login (ms/login) and its part until the
// lease is granted (ms/grant), with the renter's default 3072-bit RSA key.
func BenchmarkCanaryLease(b *testing.B) {
	n := newE2ENet(b)
	ctx := context.Background()
	honest := n.startMiner(testnet.Key(b, "//Bob//honest"), machine(1, 1<<30, 1<<30), testutil.SSHImage(), nil)
	n.collectSpecs(honest)
	r, err := renter.New(renter.Config{Netuid: e2eNetuid, DataDir: n.dir}, renter.Deps{Meta: n.chain, Store: n.store, Signer: n.validator, Log: e2eLogger()})
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Netuid, cfg.DataDir, cfg.Concurrency = e2eNetuid, n.dir, 1
	c, err := New(cfg, Deps{Meta: n.chain, Store: n.store, Leaser: r, Self: n.validator.SS58Address(), Log: e2eLogger()})
	if err != nil {
		b.Fatal(err)
	}
	mg, err := n.chain.Metagraph(ctx, e2eNetuid)
	if err != nil {
		b.Fatal(err)
	}
	due, err := c.dueMiners(ctx)
	if err != nil || len(due) != 1 {
		b.Fatalf("due %v, %v", due, err)
	}
	_ = mg
	var login, grant time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o := c.lease(ctx, due[0])
		if o.Reason != ReasonOK {
			b.Fatalf("lease %d: %s %s", i, o.Reason, o.Detail)
		}
		login += o.LoginTime
		grant += o.GrantTime
		b.Logf("lease %d: allocate-to-login %v, granted after %v", i, o.LoginTime.Round(time.Millisecond), o.GrantTime.Round(time.Millisecond))
	}
	b.ReportMetric(float64(login.Milliseconds())/float64(b.N), "ms/login")
	b.ReportMetric(float64(grant.Milliseconds())/float64(b.N), "ms/grant")
}
