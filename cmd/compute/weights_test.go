package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/validator"
)

// quicknetRound1000 is drand quicknet's published signature of round 1000
// (also pinned in subtensor's pallets/drand tests).
const quicknetRound1000 = "b44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39"

// TestWeightsEncryptDecryptQuicknet: a payload encrypted to a published
// quicknet round with quicknet's key decrypts with that round's published
// signature through the commands, and not with another round's.
func TestWeightsEncryptDecryptQuicknet(t *testing.T) {
	ctx := context.Background()
	hk := mustKey(t, "//Alice").SS58Address()
	var enc encryptResult
	out := runCLI(t, ctx, "weights", "encrypt", "--round", "1000", "--beacon-key", "quicknet", "--hotkey", hk,
		"--uids", "0,3,7", "--weights", "0.5,0.25,0", "--version-key", "142", "--json")
	if err := json.Unmarshal([]byte(out), &enc); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if enc.RevealRound != 1000 || !slices.Equal(enc.UIDs, []uint16{0, 3}) || !slices.Equal(enc.Values, []uint16{65535, 32768}) {
		t.Fatalf("encrypt: %+v", enc)
	}
	var dec decryptResult
	out = runCLI(t, ctx, "weights", "decrypt", "--ciphertext", enc.Ciphertext, "--signature", quicknetRound1000,
		"--beacon-key", "quicknet", "--round", "1000")
	if err := json.Unmarshal([]byte(out), &dec); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !dec.Verified || dec.Hotkey != hk || !slices.Equal(dec.UIDs, enc.UIDs) || !slices.Equal(dec.Values, enc.Values) || dec.VersionKey != 142 {
		t.Fatalf("decrypt: %+v", dec)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"another round's signature", []string{"--ciphertext", enc.Ciphertext, "--signature", strings.Repeat("ab", 48)}, 1, "signature"},
		{"signature of round 1000 claimed for 1001", []string{"--ciphertext", enc.Ciphertext, "--signature", quicknetRound1000, "--beacon-key", "quicknet", "--round", "1001"}, 1, "not the beacon's signature of round 1001"},
		{"short signature", []string{"--ciphertext", enc.Ciphertext, "--signature", "abcd"}, 2, "48 bytes"},
		{"not hex", []string{"--ciphertext", "zz", "--signature", quicknetRound1000}, 2, "not hex"},
		{"key without round", []string{"--ciphertext", enc.Ciphertext, "--signature", quicknetRound1000, "--beacon-key", "quicknet"}, 2, "--round"},
		{"truncated ciphertext", []string{"--ciphertext", enc.Ciphertext[:100], "--signature", quicknetRound1000}, 1, "ciphertext"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := runCLIErr(ctx, append([]string{"weights", "decrypt"}, tc.args...)...)
			if code != tc.code || !strings.Contains(msg, tc.msg) {
				t.Fatalf("exit %d %q, want %d and %q", code, msg, tc.code, tc.msg)
			}
		})
	}
}

// runCLIErr runs the root command expecting an error and returns the exit
// code it maps to and the message.
func runCLIErr(ctx context.Context, args ...string) (int, string) {
	root := newRootCommand()
	var out strings.Builder
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0, out.String()
	}
	return exitCode(ctx, err), operatorMessage(err)
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWeightsCommandsOnLocalnet: on a localnet with commit-reveal (its
// default, as on finney), `weights encrypt` predicts the reveal round and
// block from the chain, the commit waits on chain (`weights show`), the
// chain reveals it at the predicted block, and `weights decrypt` with the
// beacon's pulse shows the payload.
func TestWeightsCommandsOnLocalnet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	url := startLocalnet(t, filepath.Join(t.TempDir(), "localnet.db"))
	ep := "--subtensor.chain_endpoint=" + url
	runCLI(t, ctx, "register", ep, "--netuid", "1", "--coldkey-uri", "//Bob", "--hotkey-uri", "//Bob//validator")
	runCLI(t, ctx, "register", ep, "--netuid", "1", "--coldkey-uri", "//Bob", "--hotkey-uri", "//Bob//m1")
	runCLI(t, ctx, "localnet", "stake", ep, "--coldkey-uri", "//Bob", "--hotkey-uri", "//Bob//validator", "--amount", "2000")
	val := mustKey(t, "//Bob//validator")
	c, err := devchain.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for { // a permit comes with the next epoch
		n, err := c.Neuron(ctx, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if n.ValidatorPermit {
			break
		}
		b, _ := c.Block(ctx)
		if _, err := c.WaitBlock(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	var enc encryptResult
	out := runCLI(t, ctx, "weights", "encrypt", ep, "--netuid", "1", "--hotkey", val.SS58Address(),
		"--uids", "0,1", "--weights", "0,1", "--json")
	if err := json.Unmarshal([]byte(out), &enc); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if enc.RevealRound == 0 || enc.RevealBlock == 0 || !slices.Equal(enc.UIDs, []uint16{1}) {
		t.Fatalf("encrypt: %+v", enc)
	}
	ct := mustHex(t, enc.Ciphertext)
	commitBlock, err := c.CommitTimelockedWeights(ctx, 1, val, ct, enc.RevealRound, 4)
	if err != nil {
		t.Fatal(err)
	}
	var st validator.WeightsStatus
	out = runCLI(t, ctx, "weights", "show", ep, "--netuid", "1", "--hotkey", val.SS58Address(), "--json",
		"--validator.data_dir", t.TempDir())
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !st.Info.CommitReveal || st.UID == nil || *st.UID != 0 {
		t.Fatalf("show: %+v", st)
	}
	if b, _ := c.Block(ctx); b < enc.RevealBlock && (len(st.Pending) != 1 || st.Pending[0].RevealRound != enc.RevealRound || st.Pending[0].Block != commitBlock) {
		t.Fatalf("show before the reveal (block %d, commit %d, reveal %d): pending %+v", b, commitBlock, enc.RevealBlock, st.Pending)
	}
	if _, err := c.WaitBlock(ctx, enc.RevealBlock); err != nil {
		t.Fatal(err)
	}
	text := runCLI(t, ctx, "weights", "show", ep, "--netuid", "1", "--hotkey", val.SS58Address(), "--validator.data_dir", t.TempDir())
	t.Logf("\n%s", text)
	if !strings.Contains(text, "commits waiting on chain for their reveal: 0") || !strings.Contains(text, "weights on chain: 1 uids") ||
		!strings.Contains(text, "1    65535") {
		t.Fatalf("show after the reveal:\n%s", text)
	}
	// Anyone can audit the commit with the round's pulse.
	pulse, err := c.Pulse(ctx, enc.RevealRound)
	if err != nil {
		t.Fatal(err)
	}
	bi, err := c.Beacon(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var dec decryptResult
	out = runCLI(t, ctx, "weights", "decrypt", "--ciphertext", enc.Ciphertext, "--signature", pulse.Signature,
		"--beacon-key", bi.PublicKeyHex, "--round", strconv.FormatUint(enc.RevealRound, 10))
	if err := json.Unmarshal([]byte(out), &dec); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !dec.Verified || dec.Hotkey != val.SS58Address() || !slices.Equal(dec.Values, []uint16{65535}) {
		t.Fatalf("decrypt: %+v", dec)
	}
}
