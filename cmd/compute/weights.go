package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/reveal"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/tlock"
	"github.com/sn27/compute/internal/validator"
	"github.com/sn27/compute/internal/version"
	"github.com/sn27/compute/internal/wallet"
)

func newWeightsCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "weights",
		Short: "Inspect, encrypt and audit a validator's weights (commit-reveal)",
		Long: `weights shows what a validator hotkey last set or committed and whether the chain revealed
it, and encrypts or decrypts timelocked weights commits exactly as the chain does, so that
anyone can audit a revealed commit.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newWeightsShowCommand(g), newWeightsEncryptCommand(g), newWeightsDecryptCommand())
	return cmd
}

// hotkeyOrWallet returns the SS58 address of --hotkey, or else of the wallet's hotkey.
func hotkeyOrWallet(flag string, wo *walletOptions) (string, error) {
	if flag != "" {
		if _, err := wallet.PublicKeyFromSS58(flag); err != nil {
			return "", usageError{fmt.Errorf("--hotkey %q is not an SS58 address: %w", flag, err)}
		}
		return flag, nil
	}
	kp, err := wo.Open().HotkeyPub()
	if err != nil {
		return "", fmt.Errorf("no --hotkey given and the wallet's hotkey cannot be read: %w", err)
	}
	return kp.SS58Address(), nil
}

func newWeightsShowCommand(g *globalOptions) *cobra.Command {
	var (
		co      chainOptions
		wo      walletOptions
		hotkey  string
		dataDir string
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "show",
		Short: "What this hotkey last set or committed, and whether the chain revealed it",
		Long: `show reads from the chain how the subnet takes weights (in the clear or committed), the
hotkey's commits still waiting for their reveal, and the weights row the chain holds for it;
and, when the validator's data directory is on this machine, its log of submissions with the
reveal round, the expected reveal block and whether the chain revealed each commit.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			hk, err := hotkeyOrWallet(hotkey, &wo)
			if err != nil {
				return err
			}
			c, err := co.Open(cmd, g.QuietLogger(cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			rep, err := validator.ReadWeightsStatus(ctx, c, co.Netuid, hk)
			if err != nil {
				return err
			}
			dir := dataDir
			if dir == "" {
				dir, _ = validator.DefaultDataDir(wo.Name, wo.Hotkey, co.Netuid)
			}
			if dir != "" {
				path := filepath.Join(dir, store.ValidatorFile)
				if _, err := os.Stat(path); err == nil {
					st, err := store.OpenValidator(ctx, path, store.DefaultValidatorConfig())
					if err != nil {
						return fmt.Errorf("open the validator's store: %w", err)
					}
					defer st.Close()
					if rep.Log, err = st.WeightsLog(ctx, co.Netuid, hk, 10); err != nil {
						return err
					}
					rep.LogPath = path
				}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return printWeightsStatus(cmd.OutOrStdout(), rep)
		},
	}
	co.AddFlags(cmd.Flags())
	wo.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&hotkey, "hotkey", "", "SS58 address of the validator hotkey (default: the wallet's hotkey)")
	cmd.Flags().StringVar(&dataDir, "validator.data_dir", "", "the validator's data directory, for its weights log (default ~/.bittensor/compute/validator/<wallet>/<hotkey>/netuid<N>)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func printWeightsStatus(w io.Writer, r *validator.WeightsStatus) error {
	info := r.Info
	fmt.Fprintf(w, "hotkey %s on netuid %d, block %d\n", r.Hotkey, r.Netuid, info.Block)
	if r.UID == nil {
		fmt.Fprintln(w, "  not registered on this subnet")
	} else {
		fmt.Fprintf(w, "  uid %d, last weights update at block %d\n", *r.UID, info.LastUpdate)
	}
	if info.CommitReveal {
		fmt.Fprintf(w, "  commit-reveal on: version %d, revealed %d epoch(s) after the commit, beacon %s\n",
			info.CommitRevealVersion, info.RevealPeriodEpochs, info.Beacon.Name)
	} else {
		fmt.Fprintln(w, "  commit-reveal off: weights are set in the clear")
	}
	fmt.Fprintf(w, "  tempo %d, weights rate limit %d blocks, next weights allowed at block %d\n",
		info.Tempo, info.RateLimit, info.NextAllowed())
	fmt.Fprintf(w, "\ncommits waiting on chain for their reveal: %d\n", len(r.Pending))
	if len(r.Pending) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "COMMIT BLOCK\tREVEAL ROUND\tROUND DUE AT\tBYTES")
		for _, p := range r.Pending {
			fmt.Fprintf(tw, "%d\t%d\t%s\t%d\n", p.Block, p.RevealRound, info.Beacon.TimeOf(p.RevealRound).UTC().Format(time.DateTime), len(p.Ciphertext))
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nweights on chain: %d uids\n", len(r.UIDs))
	if len(r.UIDs) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "UID\tWEIGHT(u16)\tSHARE")
		var total float64
		for _, v := range r.Values {
			total += float64(v)
		}
		for i, u := range r.UIDs {
			fmt.Fprintf(tw, "%d\t%d\t%.4f\n", u, r.Values[i], float64(r.Values[i])/total)
		}
		tw.Flush()
	}
	if r.LogPath == "" {
		fmt.Fprintln(w, "\nno validator store on this machine for this hotkey (--validator.data_dir)")
		return nil
	}
	fmt.Fprintf(w, "\nlast submissions in %s:\n", r.LogPath)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODE\tBLOCK\tREVEAL ROUND\tEXPECTED REVEAL\tSTATUS\tSEEN AT\tUIDS")
	for _, l := range r.Log {
		round, expect, seen := "-", "-", "-"
		if l.Mode == store.WeightsModeCommit {
			round, expect = fmt.Sprint(l.RevealRound), fmt.Sprint(l.RevealBlock)
		}
		if l.RevealedBlock != 0 {
			seen = fmt.Sprint(l.RevealedBlock)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%d\n", l.Mode, l.Block, round, expect, l.Status, seen, len(l.UIDs))
	}
	return tw.Flush()
}

// parseUint16List and parseFloatList read comma-separated flag values.
func parseUint16List(name, s string) ([]uint16, error) {
	var out []uint16
	for _, f := range strings.Split(s, ",") {
		var v uint16
		if _, err := fmt.Sscan(strings.TrimSpace(f), &v); err != nil {
			return nil, usageError{fmt.Errorf("--%s: %q is not a uid (0..65535)", name, f)}
		}
		out = append(out, v)
	}
	return out, nil
}

func parseFloatList(name, s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		var v float64
		if _, err := fmt.Sscan(strings.TrimSpace(f), &v); err != nil {
			return nil, usageError{fmt.Errorf("--%s: %q is not a number", name, f)}
		}
		out = append(out, v)
	}
	return out, nil
}

func hexFlag(name, s string, size int) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), "0x"))
	if err != nil {
		return nil, usageError{fmt.Errorf("--%s is not hex: %w", name, err)}
	}
	if size > 0 && len(b) != size {
		return nil, usageError{fmt.Errorf("--%s must be %d bytes, got %d", name, size, len(b))}
	}
	return b, nil
}

// beaconKeyFlag reads --beacon-key: hex, or "quicknet" for drand
// quicknet's key; nil when empty.
func beaconKeyFlag(s string) ([]byte, error) {
	switch s {
	case "":
		return nil, nil
	case "quicknet":
		return tlock.QuicknetPublicKey(), nil
	}
	return hexFlag("beacon-key", s, tlock.PublicKeySize)
}

// encryptResult is what `weights encrypt` prints.
type encryptResult struct {
	Hotkey      string   `json:"hotkey"`
	UIDs        []uint16 `json:"uids"`
	Values      []uint16 `json:"values"`
	VersionKey  uint64   `json:"version_key"`
	RevealRound uint64   `json:"reveal_round"`
	RoundTime   string   `json:"reveal_round_time,omitempty"`
	RevealBlock uint64   `json:"expected_reveal_block,omitempty"`
	Ciphertext  string   `json:"ciphertext"`
}

func newWeightsEncryptCommand(g *globalOptions) *cobra.Command {
	var (
		co                chainOptions
		wo                walletOptions
		hotkey, uids, ws  string
		beaconKey         string
		round, versionKey uint64
		asJSON            bool
	)
	cmd := &cobra.Command{
		Use:   "encrypt",
		Short: "Dry run of a commit: the ciphertext, reveal round and expected reveal block",
		Long: `encrypt builds the timelocked commit a validator would send for the given uids and weights
(normalised like the SDK: the largest becomes 65535, zeros dropped) without sending it: the
ciphertext as hex, the beacon round it is encrypted to and the block the chain is expected to
reveal it at, computed from the chain's epoch schedule. --round forces a round and --beacon-key a
beacon public key (96-byte G2 point as hex); with both, no chain is needed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			hk, err := hotkeyOrWallet(hotkey, &wo)
			if err != nil {
				return err
			}
			pub, _ := wallet.PublicKeyFromSS58(hk)
			us, err := parseUint16List("uids", uids)
			if err != nil {
				return err
			}
			fw, err := parseFloatList("weights", ws)
			if err != nil {
				return err
			}
			if len(us) != len(fw) {
				return usageError{fmt.Errorf("--uids has %d entries but --weights has %d", len(us), len(fw))}
			}
			u, w, err := chain.ConvertWeights(us, fw)
			if err != nil {
				return usageError{err}
			}
			key, err := beaconKeyFlag(beaconKey)
			if err != nil {
				return err
			}
			res := encryptResult{Hotkey: hk, UIDs: u, Values: w, VersionKey: versionKey}
			if round != 0 && key != nil {
				payload := reveal.Payload{Hotkey: pub, UIDs: u, Values: w, VersionKey: versionKey}
				ct, err := tlock.Encrypt(rand.Reader, key, round, payload.Encode())
				if err != nil {
					return err
				}
				res.RevealRound, res.Ciphertext = round, hex.EncodeToString(ct)
				return printEncrypt(cmd.OutOrStdout(), res, asJSON)
			}
			c, err := co.Open(cmd, g.QuietLogger(cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			info, err := c.WeightsInfo(ctx, co.Netuid, hk)
			if err != nil {
				return fmt.Errorf("read the weights settings of netuid %d: %w", co.Netuid, err)
			}
			if key != nil {
				info.Beacon.PublicKey = key
			}
			if round != 0 {
				payload := reveal.Payload{Hotkey: pub, UIDs: u, Values: w, VersionKey: versionKey}
				ct, err := tlock.Encrypt(rand.Reader, info.Beacon.PublicKey, round, payload.Encode())
				if err != nil {
					return err
				}
				res.RevealRound, res.Ciphertext = round, hex.EncodeToString(ct)
			} else {
				sealed, err := reveal.Seal(rand.Reader, info, pub, u, w, versionKey, time.Now())
				if err != nil {
					return err
				}
				res.RevealRound, res.RevealBlock, res.Ciphertext = sealed.RevealRound, sealed.RevealBlock, hex.EncodeToString(sealed.Ciphertext)
			}
			res.RoundTime = info.Beacon.TimeOf(res.RevealRound).UTC().Format(time.RFC3339)
			return printEncrypt(cmd.OutOrStdout(), res, asJSON)
		},
	}
	co.AddFlags(cmd.Flags())
	wo.AddFlags(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&hotkey, "hotkey", "", "SS58 address of the committing hotkey (default: the wallet's hotkey)")
	fs.StringVar(&uids, "uids", "", "comma-separated uids")
	fs.StringVar(&ws, "weights", "", "comma-separated weights, one per uid (any scale)")
	fs.Uint64Var(&versionKey, "version-key", version.Int, "weights version key carried in the payload")
	fs.Uint64Var(&round, "round", 0, "encrypt to this beacon round instead of the computed reveal round")
	fs.StringVar(&beaconKey, "beacon-key", "", "beacon public key as hex, or 'quicknet' (default: the chain's beacon, quicknet on finney and test)")
	fs.BoolVar(&asJSON, "json", false, "print as JSON")
	_ = cmd.MarkFlagRequired("uids")
	_ = cmd.MarkFlagRequired("weights")
	return cmd
}

func printEncrypt(w io.Writer, r encryptResult, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "hotkey:                %s\n", r.Hotkey)
	fmt.Fprintf(w, "uids:                  %v\n", r.UIDs)
	fmt.Fprintf(w, "values (u16):          %v\n", r.Values)
	fmt.Fprintf(w, "version key:           %d\n", r.VersionKey)
	fmt.Fprintf(w, "reveal round:          %d\n", r.RevealRound)
	if r.RoundTime != "" {
		fmt.Fprintf(w, "round published at:    %s\n", r.RoundTime)
	}
	if r.RevealBlock != 0 {
		fmt.Fprintf(w, "expected reveal block: %d\n", r.RevealBlock)
	} else {
		fmt.Fprintln(w, "expected reveal block: unknown (round forced)")
	}
	fmt.Fprintf(w, "ciphertext (%d bytes): %s\n", len(r.Ciphertext)/2, r.Ciphertext)
	return nil
}

// decryptResult is what `weights decrypt` prints.
type decryptResult struct {
	Hotkey     string   `json:"hotkey"`
	UIDs       []uint16 `json:"uids"`
	Values     []uint16 `json:"values"`
	VersionKey uint64   `json:"version_key"`
	Verified   bool     `json:"signature_verified"`
}

func newWeightsDecryptCommand() *cobra.Command {
	var ctHex, sigHex, keyHex string
	var round uint64
	cmd := &cobra.Command{
		Use:   "decrypt",
		Short: "Decrypt a timelocked weights commit with its round's beacon signature",
		Long: `decrypt opens a commit (the ciphertext hex, as stored on chain) with the beacon signature
of its reveal round and prints the payload as JSON: hotkey, uids, u16 values and version key.
With --beacon-key and --round, the signature is first verified against the beacon's key
(--beacon-key quicknet names drand quicknet's key).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ct, err := hexFlag("ciphertext", ctHex, 0)
			if err != nil {
				return err
			}
			sig, err := hexFlag("signature", sigHex, tlock.SignatureSize)
			if err != nil {
				return err
			}
			res := decryptResult{}
			if keyHex != "" {
				key, err := beaconKeyFlag(keyHex)
				if err != nil {
					return err
				}
				if round == 0 {
					return usageError{errors.New("--beacon-key needs --round to verify the signature")}
				}
				if err := tlock.Verify(key, round, sig); err != nil {
					return fmt.Errorf("the signature is not the beacon's signature of round %d: %w", round, err)
				}
				res.Verified = true
			}
			p, err := reveal.Open(sig, ct)
			if err != nil {
				return err
			}
			if res.Hotkey, err = wallet.SS58Encode(p.Hotkey[:], wallet.DefaultSS58Prefix); err != nil {
				return err
			}
			res.UIDs, res.Values, res.VersionKey = p.UIDs, p.Values, p.VersionKey
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&ctHex, "ciphertext", "", "the commit's ciphertext as hex")
	fs.StringVar(&sigHex, "signature", "", "the beacon's signature of the reveal round as hex (48 bytes)")
	fs.StringVar(&keyHex, "beacon-key", "", "verify the signature against this beacon public key (hex, or 'quicknet')")
	fs.Uint64Var(&round, "round", 0, "the reveal round, to verify the signature")
	_ = cmd.MarkFlagRequired("ciphertext")
	_ = cmd.MarkFlagRequired("signature")
	return cmd
}
