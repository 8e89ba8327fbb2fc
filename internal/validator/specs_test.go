package validator

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/specs"
	"github.com/sn27/compute/internal/wallet"
	"github.com/sn27/compute/internal/wire"
)

type memSpecs struct {
	mu     sync.Mutex
	saved  map[string]json.RawMessage
	missed map[string]int
}

func (m *memSpecs) SaveSpecs(_ context.Context, hotkey string, details json.RawMessage, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.saved[hotkey] = details
	return nil
}

func (m *memSpecs) MissedSpecs(_ context.Context, hotkey string, _ time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.missed[hotkey]++
	return m.missed[hotkey], nil
}

// specsAxon serves a Specs route answering report.
func specsAxon(t *testing.T, hot *wallet.Keypair, report string) int {
	t.Helper()
	ax, err := wire.NewAxon(wire.AxonConfig{Hotkey: hot.SS58Address(), Logger: testLog(), ShutdownGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = wire.Attach(ax, wire.Handler[wire.Specs]{Forward: func(_ context.Context, s *wire.Specs) error {
		s.SpecsOutput = report
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return serveListener(t, func(ctx context.Context, ln net.Listener) { _ = ax.Serve(ctx, ln) })
}

// A Python miner reports GPU memory as GPUtil gives it, a float number of MB
// (81920.0). The validator stores such a report (in integer form); a report
// with a fractional capacity is refused, naming the field.
func TestSpecsRoundPythonMiner(t *testing.T) {
	report, err := os.ReadFile("../specs/testdata/python-a100.json")
	if err != nil {
		t.Fatal(err)
	}
	fraction := strings.Replace(string(report), `"capacity": 81920.0}]`, `"capacity": 81920.5}]`, 1)
	if fraction == string(report) {
		t.Fatal("fixture changed")
	}
	py, bad := mustKey(t, "//Py//hot"), mustKey(t, "//Bad//hot")
	miners := []chain.Neuron{
		{UID: 1, Hotkey: py.SS58Address(), Axon: chain.AxonInfo{IP: "127.0.0.1", Port: uint16(specsAxon(t, py, string(report)))}},
		{UID: 2, Hotkey: bad.SS58Address(), Axon: chain.AxonInfo{IP: "127.0.0.1", Port: uint16(specsAxon(t, bad, fraction))}},
	}
	val := mustKey(t, "//Validator")
	d, err := wire.NewDendrite(wire.DendriteConfig{Signer: val, Logger: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.SpecsTimeout = 5 * time.Second
	st := &memSpecs{saved: map[string]json.RawMessage{}, missed: map[string]int{}}
	outs := SpecsRound(context.Background(), cfg, d, st, miners, time.Now())
	if len(outs) != 2 {
		t.Fatalf("%d outcomes", len(outs))
	}
	if o := outs[0]; o.Result != SpecsStored || o.Specs == nil || o.Specs.GPU.Capacity != 81920 || o.Specs.GPU.Details[0].Capacity != 81920 {
		t.Fatalf("python report: %+v", o)
	}
	stored, err := specs.Parse(st.saved[py.SS58Address()])
	if err != nil || stored.GPU.Capacity != 81920 || strings.Contains(string(st.saved[py.SS58Address()]), "81920.0") {
		t.Fatalf("stored %s: %v", st.saved[py.SS58Address()], err)
	}
	if o := outs[1]; o.Result != SpecsInvalid || !strings.Contains(o.Detail, "field gpu.details.capacity: 81920.5 is not a whole number") {
		t.Fatalf("fractional report: %+v", o)
	}
	if st.missed[bad.SS58Address()] != 1 {
		t.Fatalf("missed %v", st.missed)
	}
}
