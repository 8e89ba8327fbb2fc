package store

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestAPIKeys(t *testing.T) {
	ctx := context.Background()
	v, _ := openTest(t, DefaultValidatorConfig())
	a := APIKey{ID: "k1", Name: "ci", Hash: []byte{1, 2, 3}, Scopes: []string{"read", "rent"},
		WebhookURL: "https://example.test/hook", WebhookSecret: "whsec", RatePerMinute: 30, CreatedAt: t0}
	b := APIKey{ID: "k2", Name: "admin", Hash: []byte{4}, Scopes: []string{"admin"}, CreatedAt: t0.Add(time.Second)}
	for _, k := range []APIKey{a, b} {
		if err := v.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.CreateAPIKey(ctx, APIKey{ID: "k1", Hash: []byte{9}, CreatedAt: t0}); !errors.Is(err, ErrAPIKeyExists) {
		t.Errorf("duplicate id: %v", err)
	}
	for _, bad := range []APIKey{
		{ID: "", Hash: []byte{1}, CreatedAt: t0},
		{ID: "x", CreatedAt: t0},
		{ID: "x", Hash: []byte{1}},
		{ID: "x", Hash: []byte{1}, CreatedAt: t0, Scopes: []string{"read,admin"}},
	} {
		if err := v.CreateAPIKey(ctx, bad); err == nil {
			t.Errorf("key %+v stored", bad)
		}
	}
	got, err := v.APIKey(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "ci" || !bytes.Equal(got.Hash, a.Hash) || !slices.Equal(got.Scopes, a.Scopes) || got.RatePerMinute != 30 ||
		!got.CreatedAt.Equal(t0) || !got.LastUsedAt.IsZero() || got.Revoked() {
		t.Errorf("read back %+v", got)
	}
	if _, err := v.APIKey(ctx, "nope"); !errors.Is(err, ErrAPIKeyNotFound) {
		t.Errorf("unknown key: %v", err)
	}

	if err := v.TouchAPIKey(ctx, "k1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := v.TouchAPIKey(ctx, "k1", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := v.APIKey(ctx, "k1"); !got.LastUsedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("last used %v, want the later time kept", got.LastUsedAt)
	}

	url, secret, ok, err := v.WebhookTarget(ctx, "k1")
	if err != nil || !ok || url != a.WebhookURL || secret != "whsec" {
		t.Errorf("webhook target %q %q %v %v", url, secret, ok, err)
	}
	for _, owner := range []string{"k2", "nope"} {
		if _, _, ok, err := v.WebhookTarget(ctx, owner); ok || err != nil {
			t.Errorf("webhook target of %s: %v %v; want none", owner, ok, err)
		}
	}

	rk, err := v.RevokeAPIKey(ctx, "k1", t0.Add(2*time.Hour))
	if err != nil || !rk.Revoked() || !rk.RevokedAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("revoke: %+v, %v", rk, err)
	}
	if rk, err := v.RevokeAPIKey(ctx, "k1", t0.Add(3*time.Hour)); err != nil || !rk.RevokedAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("second revoke: %+v, %v; want the first time kept", rk, err)
	}
	if _, err := v.RevokeAPIKey(ctx, "nope", t0); !errors.Is(err, ErrAPIKeyNotFound) {
		t.Errorf("revoke unknown: %v", err)
	}
	if _, _, ok, _ := v.WebhookTarget(ctx, "k1"); ok {
		t.Error("a revoked key still has a webhook target")
	}
	keys, err := v.APIKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].ID != "k1" || keys[1].ID != "k2" || !keys[0].Revoked() || keys[1].Revoked() {
		t.Errorf("list %+v, %v", keys, err)
	}
}

func TestAudit(t *testing.T) {
	ctx := context.Background()
	v, _ := openTest(t, DefaultValidatorConfig())
	entries := []AuditEntry{
		{At: t0, KeyID: "k1", Method: "POST", Path: "/v1/rentals", Status: 201, Remote: "127.0.0.1:5000"},
		{At: t0.Add(time.Minute), KeyID: "", Method: "POST", Path: "/v1/rentals", Status: 401, Remote: "127.0.0.1:5001", Detail: "no API key"},
		{At: t0.Add(time.Hour), KeyID: "k1", Method: "DELETE", Path: "/v1/rentals/r_1", Status: 200},
	}
	for _, e := range entries {
		if err := v.RecordAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.RecordAudit(ctx, AuditEntry{Method: "POST"}); err == nil {
		t.Error("an entry without a time was recorded")
	}
	all, err := v.Audit(ctx, "", 10)
	if err != nil || len(all) != 3 || all[0].Method != "DELETE" || all[1].Detail != "no API key" || all[2].Remote != "127.0.0.1:5000" {
		t.Fatalf("audit %+v, %v", all, err)
	}
	mine, err := v.Audit(ctx, "k1", 1)
	if err != nil || len(mine) != 1 || mine[0].Path != "/v1/rentals/r_1" || !mine[0].At.Equal(t0.Add(time.Hour)) {
		t.Errorf("audit of k1 %+v, %v", mine, err)
	}
	n, err := v.PruneAudit(ctx, t0.Add(30*time.Minute))
	if err != nil || n != 2 {
		t.Errorf("pruned %d, %v; want 2", n, err)
	}
	if rest, _ := v.Audit(ctx, "", 10); len(rest) != 1 {
		t.Errorf("left %+v", rest)
	}
}
