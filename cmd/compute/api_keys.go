package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sn27/compute/internal/api"
	"github.com/sn27/compute/internal/store"
)

func newAPIKeysCommand(g *globalOptions, o *allocateOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, list and revoke the renter API's keys",
		Long: `keys manages the API keys kept in the validator's store (--validator.data_dir, or the
wallet's default directory). A key has scopes: read (the read endpoints), rent (its own
rentals) and admin (everything, every key's rentals). The store keeps only a key's SHA-256:
create prints the key once.`,
	}
	cmd.AddCommand(newAPIKeysCreateCommand(g, o), newAPIKeysListCommand(o), newAPIKeysRevokeCommand(o))
	return cmd
}

func newAPIKeysCreateCommand(_ *globalOptions, o *allocateOptions) *cobra.Command {
	var (
		spec   api.KeySpec
		scopes string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an API key and print it (once)",
		Long: `create makes an API key with --scopes for --name and prints it: it is shown this once, the
store keeps only its SHA-256. With --webhook the events of the key's rentals are POSTed there,
signed with a webhook secret printed once too. --rate sets the key's requests a minute (0: the
server's --api.rate).

Example:
  compute api keys create --name ci --scopes read,rent --webhook https://ci.example.com/hooks/compute`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if spec.Scopes, err = api.ParseScopes(scopes); err != nil {
				return err
			}
			if err := spec.Validate(); err != nil {
				return err
			}
			st, _, err := o.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			nk, err := api.CreateKey(cmd.Context(), st, spec, time.Now())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				out := struct {
					keyJSON
					Key           string `json:"key"`
					WebhookSecret string `json:"webhook_secret,omitempty"`
				}{keyToJSON(nk.Key), nk.Token, nk.WebhookSecret}
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "ID\t%s\n", nk.Key.ID)
			fmt.Fprintf(tw, "Name\t%s\n", nk.Key.Name)
			fmt.Fprintf(tw, "Scopes\t%s\n", strings.Join(nk.Key.Scopes, ", "))
			fmt.Fprintf(tw, "Rate\t%s\n", rateText(nk.Key.RatePerMinute))
			if nk.Key.WebhookURL != "" {
				fmt.Fprintf(tw, "Webhook\t%s\n", nk.Key.WebhookURL)
				fmt.Fprintf(tw, "Webhook secret\t%s\n", nk.WebhookSecret)
			}
			fmt.Fprintf(tw, "Key\t%s\n", nk.Token)
			tw.Flush()
			fmt.Fprintln(w, "Keep the key now: it is shown only this once. Send it as: Authorization: Bearer <key>")
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&spec.Name, "name", "", "who or what uses the key (required)")
	fs.StringVar(&scopes, "scopes", api.ScopeRead, "comma-separated scopes: read, rent, admin")
	fs.StringVar(&spec.Webhook, "webhook", "", "URL that receives the events of the key's rentals (https; http only to this machine)")
	fs.IntVar(&spec.Rate, "rate", 0, "requests a minute (0: the server's --api.rate)")
	fs.BoolVar(&asJSON, "json", false, "print the key as JSON")
	return cmd
}

func rateText(r int) string {
	if r == 0 {
		return "the server's --api.rate"
	}
	return fmt.Sprintf("%d requests a minute", r)
}

// keyJSON is a key as `keys list --json` prints it: never its hash or webhook secret.
type keyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	Webhook    string     `json:"webhook,omitempty"`
	Rate       int        `json:"rate_per_minute"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func keyToJSON(k store.APIKey) keyJSON {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		u := t.UTC()
		return &u
	}
	return keyJSON{ID: k.ID, Name: k.Name, Scopes: k.Scopes, Webhook: k.WebhookURL, Rate: k.RatePerMinute,
		CreatedAt: k.CreatedAt.UTC(), LastUsedAt: opt(k.LastUsedAt), RevokedAt: opt(k.RevokedAt)}
}

func newAPIKeysListCommand(o *allocateOptions) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the API keys (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, dir, err := o.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			keys, err := st.APIKeys(cmd.Context())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				out := make([]keyJSON, 0, len(keys))
				for _, k := range keys {
					out = append(out, keyToJSON(k))
				}
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			if len(keys) == 0 {
				fmt.Fprintf(w, "no API keys in %s (create one with `compute api keys create --name NAME --scopes read`)\n", dir)
				return nil
			}
			return printAPIKeys(w, keys)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the keys as JSON")
	return cmd
}

func printAPIKeys(w io.Writer, keys []store.APIKey) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tRATE\tWEBHOOK\tCREATED\tLAST USED\tSTATUS")
	day := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Local().Format(time.DateTime)
	}
	for _, k := range keys {
		rate, hook, status := "default", "-", "live"
		if k.RatePerMinute > 0 {
			rate = fmt.Sprintf("%d/min", k.RatePerMinute)
		}
		if k.WebhookURL != "" {
			hook = k.WebhookURL
		}
		if k.Revoked() {
			status = "revoked " + day(k.RevokedAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, strings.Join(k.Scopes, ","), rate, hook,
			day(k.CreatedAt), day(k.LastUsedAt), status)
	}
	return tw.Flush()
}

func newAPIKeysRevokeCommand(o *allocateOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API key: it is refused from then on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, _, err := o.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			k, err := st.RevokeAPIKey(cmd.Context(), strings.TrimSpace(args[0]), time.Now())
			if err != nil {
				return fmt.Errorf("%w (see `compute api keys list`)", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked API key %s (%s) on %s\n", k.ID, k.Name, k.RevokedAt.Local().Format(time.DateTime))
			return nil
		},
	}
}
