package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/sn27/compute/internal/wallet"
)

// scripted answers prompts from a list, recording the prompts.
type scripted struct {
	answers []string
	prompts []string
}

func (s *scripted) ask(prompt string) (string, error) {
	s.prompts = append(s.prompts, prompt)
	if len(s.answers) == 0 {
		return "", errors.New("no more answers")
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a, nil
}

func TestAskNewPassword(t *testing.T) {
	tests := []struct {
		name    string
		answers []string
		want    string
		wantErr bool
		wantOut string
	}{
		{"long enough", []string{"correct horse", "correct horse"}, "correct horse", false, ""},
		{"exactly eight", []string{"12345678", "12345678"}, "12345678", false, ""},
		{"short refused, then asked again", []string{"short", "long enough", "long enough"}, "long enough", false, "too short (5 characters): use at least 8"},
		{"short counts characters, not bytes", []string{"éééééé", "ééééééé", "éééééééé", "éééééééé"}, "éééééééé", false, "too short (7 characters)"},
		{"empty refused", []string{"", "long enough", "long enough"}, "long enough", false, "must not be empty"},
		{"differ, then match", []string{"long enough", "long enuogh", "long enough", "long enough"}, "long enough", false, "differ"},
		{"three short tries", []string{"a", "bb", "ccc"}, "", true, "too short"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &scripted{answers: tc.answers}
			var out bytes.Buffer
			got, err := askNewPassword(s.ask, &out, "w")
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("got %q, %v; want %q (error %v)", got, err, tc.want, tc.wantErr)
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("messages %q lack %q", out.String(), tc.wantOut)
			}
			if !strings.Contains(s.prompts[0], "at least 8 characters") {
				t.Errorf("prompt %q does not say the minimum", s.prompts[0])
			}
		})
	}
}

// TestNewPasswordFromEnv: a short password from the environment (automation)
// is accepted with a warning; a long one silently.
func TestNewPasswordFromEnv(t *testing.T) {
	tests := []struct {
		name, env, pw string
		warn          bool
	}{
		{"short", wallet.EnvPassword, "dev", true},
		{"short, wallet variable", wallet.EnvColdPasswordPrefix + "W", "1234", true},
		{"long", wallet.EnvPassword, "dev-only", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearPasswordEnv(t)
			t.Setenv(tc.env, tc.pw)
			cmd := &cobra.Command{}
			var errOut bytes.Buffer
			cmd.SetErr(&errOut)
			cmd.SetIn(strings.NewReader(""))
			got, err := newPassword(cmd, wallet.New(t.TempDir(), "w", "default"))
			if err != nil || got != tc.pw {
				t.Fatalf("got %q, %v; want %q", got, err, tc.pw)
			}
			warned := strings.Contains(errOut.String(), "shorter than 8 characters") && strings.Contains(errOut.String(), tc.env)
			if warned != tc.warn {
				t.Fatalf("warning %v, want %v: %q", warned, tc.warn, errOut.String())
			}
		})
	}
}
