package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/chain"
)

// TestPrintMetagraphTotals: the totals row is labelled and sums stake and emission.
func TestPrintMetagraphTotals(t *testing.T) {
	tests := []struct {
		name string
		mg   chain.Metagraph
		want []string
	}{
		{"two neurons", chain.Metagraph{Netuid: 27, Block: 9, Neurons: []chain.Neuron{
			{UID: 0, Hotkey: "h0", Coldkey: "c0", Stake: 1.5, Emission: 0.25},
			{UID: 1, Hotkey: "h1", Coldkey: "c1", Stake: 2, Emission: 0.5, Axon: chain.AxonInfo{IP: "1.2.3.4", Port: 8091}},
		}}, []string{"TOTAL", "2 neurons", "3.5000", "0.750000"}},
		{"empty", chain.Metagraph{Netuid: 1}, []string{"TOTAL", "0 neurons", "0.0000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := printMetagraph(&b, &tc.mg); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
			last := lines[len(lines)-1]
			for _, want := range tc.want {
				if !strings.Contains(last, want) {
					t.Errorf("totals row %q lacks %q\n%s", last, want, b.String())
				}
			}
			if !strings.HasPrefix(last, "TOTAL") {
				t.Errorf("totals row %q does not start with its label", last)
			}
		})
	}
}
