package renter

import (
	"context"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/container"
)

// What the miner says of the disk reaches the allocation and its printed resources:
// enforced, not enforced, or (from an older miner, or an unknown word) not confirmed.
func TestAllocationSaysWhetherDiskIsEnforced(t *testing.T) {
	tests := []struct {
		name, said, want string
		disk             int64
	}{
		{"enforced", container.DiskEnforced, "1 CPU, 1GiB RAM, 1GiB disk (disk enforced)", 1 << 30},
		{"not enforced", container.DiskNotEnforced, "1 CPU, 1GiB RAM, 1GiB disk (disk NOT enforced by the miner)", 1 << 30},
		{"miner that does not say", "", "1 CPU, 1GiB RAM, 1GiB disk (disk limit not confirmed by the miner)", 1 << 30},
		{"unknown word", "\x1b[2Jenforced", "1 CPU, 1GiB RAM, 1GiB disk (disk limit not confirmed by the miner)", 1 << 30},
		{"no disk asked", "", "1 CPU, 1GiB RAM", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := newCluster(t)
			cl.b.creds = &container.Credentials{Username: "root", Password: "pw-b", Port: 4444, Disk: tt.said}
			req := need(1, 1)
			req.Disk.Capacity = tt.disk
			a, err := cl.r.Allocate(context.Background(), Request{Requirement: req, Timeline: 1, Hotkey: cl.b.hotkey})
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Resources(); got != tt.want {
				t.Fatalf("resources %q, want %q", got, tt.want)
			}
			if strings.ContainsRune(a.Disk, '\x1b') {
				t.Fatalf("disk %q kept from the miner", a.Disk)
			}
		})
	}
}
