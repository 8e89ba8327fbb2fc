package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestWebhookOutbox(t *testing.T) {
	v, path := openTest(t, DefaultValidatorConfig())
	ctx := context.Background()
	ids := map[string]int64{}
	for i, name := range []string{"a", "b", "c"} {
		id, err := v.EnqueueWebhook(ctx, "k1", "rental.allocated", json.RawMessage(`{"n":"`+name+`"}`), t0.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = id
	}
	if _, err := v.EnqueueWebhook(ctx, "k1", "rental.allocated", json.RawMessage("{"), t0); err == nil {
		t.Fatal("invalid payload accepted")
	}
	if _, err := v.EnqueueWebhook(ctx, "k1", "", json.RawMessage("{}"), t0); err == nil {
		t.Fatal("delivery without an event accepted")
	}

	steps := []struct {
		name    string
		id      string
		attempt WebhookAttempt
	}{
		{"a delivered", "a", WebhookAttempt{At: t0.Add(time.Minute), Delivered: true}},
		{"b retried", "b", WebhookAttempt{At: t0.Add(time.Minute), Error: "500 Internal Server Error", NextAt: t0.Add(time.Hour)}},
		{"c given up", "c", WebhookAttempt{At: t0.Add(time.Minute), Error: "timeout", GiveUp: true}},
	}
	for _, s := range steps {
		if err := v.RecordWebhookAttempt(ctx, ids[s.id], s.attempt); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	if err := v.RecordWebhookAttempt(ctx, ids["b"], WebhookAttempt{At: t0, Error: "x"}); err == nil {
		t.Fatal("a failed attempt without a next time accepted")
	}
	if err := v.RecordWebhookAttempt(ctx, 9999, WebhookAttempt{At: t0, Delivered: true}); !errors.Is(err, ErrWebhookNotFound) {
		t.Fatalf("unknown delivery: %v", err)
	}
	// A delivery no longer pending is left alone.
	if err := v.RecordWebhookAttempt(ctx, ids["a"], WebhookAttempt{At: t0, GiveUp: true, Error: "late"}); err != nil {
		t.Fatal(err)
	}

	// Survives a restart.
	v.Close()
	v, err := OpenValidator(ctx, path, DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	want := []struct {
		id        string
		attempts  int
		delivered bool
		failed    bool
		lastError string
	}{
		{"a", 1, true, false, ""},
		{"b", 1, false, false, "500 Internal Server Error"},
		{"c", 1, false, true, "timeout"},
	}
	for _, w := range want {
		d, err := v.WebhookDelivery(ctx, ids[w.id])
		if err != nil {
			t.Fatal(err)
		}
		if d.Attempts != w.attempts || d.DeliveredAt.IsZero() == w.delivered || d.FailedAt.IsZero() == w.failed || d.LastError != w.lastError ||
			d.Owner != "k1" || d.Event != "rental.allocated" || d.Pending() == (w.delivered || w.failed) {
			t.Errorf("%s: %+v", w.id, d)
		}
	}
	if due, err := v.DueWebhooks(ctx, t0.Add(30*time.Minute), 0); err != nil || len(due) != 0 {
		t.Fatalf("due before the retry: %+v, %v", due, err)
	}
	due, err := v.DueWebhooks(ctx, t0.Add(time.Hour), 10)
	if err != nil || len(due) != 1 || due[0].ID != ids["b"] || string(due[0].Payload) != `{"n":"b"}` {
		t.Fatalf("due at the retry: %+v, %v", due, err)
	}
	next, ok, err := v.NextWebhookDue(ctx)
	if err != nil || !ok || !next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("next due %v %v %v", next, ok, err)
	}
	all, err := v.WebhookDeliveries(ctx, "", 0)
	if err != nil || len(all) != 3 || all[0].ID != ids["c"] {
		t.Fatalf("all, newest first: %+v, %v", all, err)
	}
	if mine, _ := v.WebhookDeliveries(ctx, "k2", 0); len(mine) != 0 || mine == nil {
		t.Fatalf("another owner's: %+v", mine)
	}

	n, err := v.PruneWebhooks(ctx, t0.Add(2*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d, %v; want the delivered and the given-up one", n, err)
	}
	if err := v.RecordWebhookAttempt(ctx, ids["b"], WebhookAttempt{At: t0.Add(time.Hour), Delivered: true}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := v.NextWebhookDue(ctx); ok {
		t.Fatal("a delivery is still due")
	}
}
