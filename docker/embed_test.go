package docker

import (
	"bufio"
	"strings"
	"testing"
)

// The lease image's sshd settings keep the hardening directives (sshd keeps the
// first value it reads, and the key-only drop-in sorts before this file).
func TestSSHDHardening(t *testing.T) {
	b, err := Context.ReadFile("sshd-compute.conf")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if _, dup := got[strings.ToLower(f[0])]; !dup {
			got[strings.ToLower(f[0])] = f[1]
		}
	}
	for k, want := range map[string]string{
		"permitemptypasswords":  "no",
		"maxauthtries":          "3",
		"logingracetime":        "30",
		"permituserenvironment": "no",
		"x11forwarding":         "no",
		"usedns":                "no",
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	entry, err := Context.ReadFile("compute-entry.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(entry), `rm -f "$lease/chpasswd"`) {
		t.Error("the entry point no longer deletes the delivered password file")
	}
}
