package renter

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/specs"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/wallet"
	"github.com/sn27/compute/internal/wire"
)

// fakeMiner is a minimal miner: an axon serving Allocate with in-memory
// lease state, for the renter's unit tests.
type fakeMiner struct {
	hotkey string
	ip     string
	port   int

	mu         sync.Mutex
	refuseReal bool                   // says yes to checks but refuses the real allocation
	busy       bool                   // says no to checks
	delay      time.Duration          // before answering a real allocation
	ownerFP    string                 // fingerprint of the key holding the lease
	sshKey     string                 // key delivered with the lease
	creds      *container.Credentials // handed out with a lease (default root, pw-..., 4444)
	checks     int
	allocs     int
	releases   int
	lastReq    container.Requirement
	// actions makes it a miner that knows lease actions; without it a lease
	// action is what an older miner takes it for (a check).
	actions  bool
	restarts int
	timeline int64 // the lease's length, as allocated or extended
}

func keypair(t testing.TB, uri string) *wallet.Keypair {
	t.Helper()
	kp, err := wallet.FromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startFakeMiner serves a fake miner on 127.0.0.1 until the test ends.
func startFakeMiner(t *testing.T, uri string) *fakeMiner {
	t.Helper()
	m := &fakeMiner{hotkey: keypair(t, uri).SS58Address()}
	ax, err := wire.NewAxon(wire.AxonConfig{Hotkey: m.hotkey, Logger: quiet(), ShutdownGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := wire.Attach(ax, wire.Handler[wire.Allocate]{Forward: m.forward}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	m.ip, m.port = "127.0.0.1", addr.Port
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = ax.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return m
}

func (m *fakeMiner) forward(ctx context.Context, syn *wire.Allocate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	key, keyErr := container.ParseRequesterKey(syn.PublicKey)
	if act, ok := syn.LeaseAction(); ok && m.actions {
		syn.Output.Action = act.Action
		if keyErr != nil || m.ownerFP == "" || m.ownerFP != key.Fingerprint {
			syn.Output.Reason = "the public key is not the one that allocated this machine"
			return nil
		}
		switch act.Action {
		case wire.ActionRestart:
			m.restarts++
		case wire.ActionExchangeKey:
			m.sshKey = act.SSHKey
		case wire.ActionExtend:
			if syn.Timeline < m.timeline || syn.Timeline > 60 {
				return wire.Errorf(http.StatusBadRequest, "container: invalid timeline: %d days", syn.Timeline)
			}
			m.timeline = syn.Timeline
		default:
			return wire.Errorf(http.StatusBadRequest, "container: invalid lease action: unknown action %q", act.Action)
		}
		syn.Output.Status = true
		return nil
	}
	switch {
	case syn.Checking && syn.Timeline > 0:
		m.checks++
		_, err := container.ParseRequirement(syn.DeviceRequirement)
		syn.Output.Status = err == nil && keyErr == nil && !m.busy && m.ownerFP == ""
	case syn.Checking:
		syn.Output.Status = keyErr == nil && m.ownerFP == key.Fingerprint
	case syn.Timeline > 0:
		m.allocs++
		req, err := container.ParseRequirement(syn.DeviceRequirement)
		if err != nil || keyErr != nil || m.refuseReal || m.ownerFP != "" {
			return nil
		}
		if m.delay > 0 {
			m.mu.Unlock()
			time.Sleep(m.delay)
			m.mu.Lock()
		}
		m.lastReq = req
		m.ownerFP, m.sshKey, m.timeline = key.Fingerprint, syn.SSHKey(), syn.Timeline
		creds := container.Credentials{Username: "root", Password: "pw-" + m.hotkey[:6], Port: 4444}
		if m.creds != nil {
			creds = *m.creds
		}
		info, err := container.EncryptCredentials(key.Key, creds)
		if err != nil {
			return err
		}
		syn.Output.Status, syn.Output.Info = true, info
	default:
		m.releases++
		if keyErr == nil && m.ownerFP != "" && m.ownerFP == key.Fingerprint {
			m.ownerFP, m.sshKey = "", ""
			syn.Output.Status = true
		}
	}
	return nil
}

func (m *fakeMiner) state() (owner string, checks, allocs, releases int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ownerFP, m.checks, m.allocs, m.releases
}

// fakeMeta is a metagraph of fake miners.
type fakeMeta struct{ neurons []chain.Neuron }

func (f *fakeMeta) Metagraph(_ context.Context, netuid uint16) (*chain.Metagraph, error) {
	return &chain.Metagraph{Netuid: netuid, Neurons: append([]chain.Neuron(nil), f.neurons...)}, nil
}

func (f *fakeMeta) add(m *fakeMiner) uint16 {
	uid := uint16(len(f.neurons))
	f.neurons = append(f.neurons, chain.Neuron{UID: uid, Hotkey: m.hotkey,
		Axon: chain.AxonInfo{IP: m.ip, Port: uint16(m.port), IPType: 4}})
	return uid
}

// machine is a specs report with cpus, RAM and disk in GiB and GPUs by name and MB.
func machine(cpus int, ramGiB, diskGiB int64, gpus ...specs.GPUDetail) json.RawMessage {
	s := specs.Specs{
		CPU:      specs.CPU{Count: cpus, Logical: cpus},
		HardDisk: specs.Disk{Total: 2 * diskGiB << 30, Free: diskGiB << 30},
		RAM:      specs.RAM{Total: 2 * ramGiB << 30, Available: ramGiB << 30, Free: ramGiB << 30},
		GPU:      specs.GPU{Details: []specs.GPUDetail{}},
	}
	for _, g := range gpus {
		s.GPU.Details = append(s.GPU.Details, g)
		s.GPU.Count++
		s.GPU.Capacity += g.Capacity
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return b
}

// openStore opens a validator store in dir.
func openStore(t *testing.T, dir string) *store.Validator {
	t.Helper()
	st, err := store.OpenValidator(context.Background(), filepath.Join(dir, store.ValidatorFile), store.DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// recordHistory gives a miner n successful challenges of difficulty d taking elapsed each.
func recordHistory(t *testing.T, st *store.Validator, uid uint16, hotkey string, n, d int, elapsed time.Duration) {
	t.Helper()
	r := store.Round{Block: 1, At: time.Now().Add(-time.Minute)}
	for range n {
		r.Results = append(r.Results, store.ChallengeResult{Miner: store.Miner{UID: uid, Hotkey: hotkey},
			Success: true, Elapsed: elapsed, Difficulty: d})
	}
	if _, err := st.RecordRound(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

func newTestRenter(t *testing.T, dir string, meta Metagraph, st Store) *Renter {
	t.Helper()
	r, err := New(Config{Netuid: 27, DataDir: dir, KeyBits: 2048, CheckTimeout: 5 * time.Second,
		AllocateTimeout: 5 * time.Second}, Deps{Meta: meta, Store: st, Signer: keypair(t, "//Alice"), Log: e2eLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// recorded is what `compute allocate list` shows: the store's allocation records, decoded.
func recorded(ctx context.Context, r *Renter) ([]Allocation, error) {
	recs, err := r.store.Allocations(ctx)
	if err != nil {
		return nil, err
	}
	return Records(recs), nil
}
