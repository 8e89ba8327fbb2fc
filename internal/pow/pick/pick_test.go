package pick_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/pow/cpu"
	"github.com/sn27/compute/internal/pow/pick"
)

func TestNew(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		want    string
		wantErr error
	}{
		{"auto", "cpu", nil}, // no CUDA solver yet on any machine
		{"", "cpu", nil},
		{"cpu", "cpu", nil},
		{"cuda", "", pow.ErrUnavailable},
		{"gpu9000", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			s, err := pick.New(ctx, tc.name, pick.Options{}, slog.New(slog.NewTextHandler(&logs, nil)))
			if tc.want == "" {
				if err == nil {
					t.Fatal("want an error")
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v does not wrap %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Name() != tc.want {
				t.Fatalf("solver %s, want %s", s.Name(), tc.want)
			}
			if _, ok := pow.Unwrap(s).(*cpu.Solver); !ok {
				t.Fatalf("inner solver %T", pow.Unwrap(s))
			}
			if !strings.Contains(logs.String(), "solver=cpu") || !strings.Contains(logs.String(), "reason=") {
				t.Errorf("choice not logged: %s", logs.String())
			}
		})
	}
}

func TestNewHashcatMissing(t *testing.T) {
	_, err := pick.New(context.Background(), "hashcat", pick.Options{}, nil)
	if err == nil {
		return // hashcat installed: covered by the hashcat package tests
	}
	if !errors.Is(err, pow.ErrUnavailable) {
		t.Fatalf("error %v does not wrap ErrUnavailable", err)
	}
}
