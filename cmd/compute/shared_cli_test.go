package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/sharedstate"
	"github.com/sn27/compute/internal/store"
)

// TestSharedStateCommands: on a localnet where validator A's record leases
// miner m1 and a hostile validator committed garbage, `compute allocate
// list --all` shows A holding m1 and the ignored record, and `compute
// metagraph` shows ALLOCATED from the chain and VERIFIED from a validator
// store.
func TestSharedStateCommands(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := startLocalnet(t, filepath.Join(t.TempDir(), "localnet.db"))
	ep := "--subtensor.chain_endpoint=" + url
	for _, hk := range []string{"//Bob//a", "//Bob//hostile", "//Bob//m1", "//Bob//m2"} {
		runCLI(t, ctx, "register", ep, "--netuid", "1", "--coldkey-uri", "//Bob", "--hotkey-uri", hk)
	}
	for _, hk := range []string{"//Bob//a", "//Bob//hostile"} {
		runCLI(t, ctx, "localnet", "stake", ep, "--coldkey-uri", "//Bob", "--hotkey-uri", hk, "--amount", "1500")
	}
	c, err := devchain.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	a, hostile, m1, m2 := mustKey(t, "//Bob//a"), mustKey(t, "//Bob//hostile"), mustKey(t, "//Bob//m1"), mustKey(t, "//Bob//m2")
	for {
		mg, err := c.Metagraph(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if mg.ByHotkey(a.SS58Address()).ValidatorPermit && mg.ByHotkey(hostile.SS58Address()).ValidatorPermit {
			break
		}
		if _, err := c.WaitBlock(ctx, mg.Block); err != nil {
			t.Fatal(err)
		}
	}
	m1n, err := c.NeuronByHotkey(ctx, 1, m1.SS58Address())
	if err != nil {
		t.Fatal(err)
	}
	block, _ := c.Block(ctx)
	rec, _ := sharedstate.Record{Block: block, Leased: []uint16{m1n.UID}}.Encode()
	if err := c.Commit(ctx, 1, a, rec); err != nil {
		t.Fatal(err)
	}
	if err := c.Commit(ctx, 1, hostile, []byte("CS\x01 garbage")); err != nil {
		t.Fatal(err)
	}

	out := runCLI(t, ctx, "allocate", "list", "--all", ep, "--netuid", "1")
	t.Logf("\n%s", out)
	for _, want := range []string{"1 validator records read, 1 ignored", m1.SS58Address(), a.SS58Address(),
		"ignored record of " + hostile.SS58Address() + " (malformed)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("allocate list --all lacks %q:\n%s", want, out)
		}
	}
	var l sharedListing
	if err := json.Unmarshal([]byte(runCLI(t, ctx, "allocate", "list", "--all", "--json", ep, "--netuid", "1")), &l); err != nil {
		t.Fatal(err)
	}
	if len(l.Allocations) != 1 || l.Allocations[0].UID != m1n.UID || l.Allocations[0].Validators[0].Hotkey != a.SS58Address() ||
		l.Allocations[0].Validators[0].RecordBlock != block || len(l.Ignored) != 1 || l.Ignored[0].Kind != sharedstate.DropMalformed {
		t.Fatalf("listing %+v", l)
	}

	// A validator store with a verdict on each miner.
	dir := t.TempDir()
	st, err := store.OpenValidator(ctx, filepath.Join(dir, store.ValidatorFile), store.DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	err = st.RecordCanary(ctx, store.CanaryRun{Hotkey: m1.SS58Address(), Reason: "ok", Started: now, Finished: now},
		store.CanaryStatus{Hotkey: m1.SS58Address(), State: store.CanaryVerified, Reason: "ok", CheckedAt: now, VerifiedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.FailCanary(ctx, []string{m2.SS58Address()}, "cpu_mismatch", "claims 8 CPUs, the lease has 1", now); err != nil {
		t.Fatal(err)
	}
	st.Close()

	out = runCLI(t, ctx, "metagraph", ep, "--netuid", "1", "--validator.data_dir", dir)
	t.Logf("\n%s", out)
	aUID := l.Allocations[0].Validators[0].UID
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "UID"):
			if !strings.Contains(line, "ALLOCATED") || !strings.Contains(line, "VERIFIED") {
				t.Fatalf("header %q", line)
			}
		case strings.Contains(line, m1.SS58Address()):
			if f := strings.Fields(line); strings.Join(f[len(f)-3:], " ") != "by "+strconv.Itoa(int(aUID))+" yes" {
				t.Fatalf("m1 line %q", line)
			}
		case strings.Contains(line, m2.SS58Address()):
			if !strings.HasSuffix(strings.TrimSpace(line), "no (cpu_mismatch)") {
				t.Fatalf("m2 line %q", line)
			}
		}
	}
	out = runCLI(t, ctx, "metagraph", ep, "--netuid", "1", "--shared=false")
	if strings.Contains(out, "ALLOCATED") || strings.Contains(out, "VERIFIED") {
		t.Fatalf("extra columns without data:\n%s", out)
	}
}
