package container

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/testutil"
	"golang.org/x/crypto/ssh"
)

func TestParseRequesterKey(t *testing.T) {
	priv, spki := testutil.RSAKey(t)
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&priv.PublicKey)}))
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	smallDER, _ := x509.MarshalPKIXPublicKey(&small.PublicKey)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}))

	want, err := ParseRequesterKey(spki)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		in   string
		ok   bool
	}{
		{"spki", spki, true},
		{"pkcs1 same key", pkcs1, true},
		{"surrounding whitespace", "\n  " + spki + "\n\n", true},
		{"empty", "", false},
		{"garbage", "hello", false},
		{"bad base64", "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n", false},
		{"bad der", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", false},
		{"1024 bits", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: smallDER})), false},
		{"ecdsa", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER})), false},
		{"private key", privPEM, false},
		{"trailing data", spki + "; rm -rf /", false},
		{"two blocks", spki + spki, false},
		{"oversized", strings.Repeat("A", maxPEMBytes+1), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRequesterKey(tc.in)
			if !tc.ok {
				if !errors.Is(err, ErrInvalidPublicKey) {
					t.Fatalf("err = %v, want ErrInvalidPublicKey", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Fingerprint != want.Fingerprint || got.PEM != want.PEM {
				t.Fatal("same key, different fingerprint")
			}
		})
	}
}

func TestCredentialsRoundTrip(t *testing.T) {
	priv, pub := testutil.RSAKey(t)
	k, err := ParseRequesterKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	in := Credentials{Username: "root", Password: "p4ss", Port: 4444}
	info, err := EncryptCredentials(k.Key, in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecryptCredentials(priv, info)
	if err != nil || out != in {
		t.Fatalf("round trip: %+v %v", out, err)
	}
	other, _ := testutil.RSAKey(t)
	if _, err := DecryptCredentials(other, info); err == nil {
		t.Fatal("decrypted with another key")
	}
}

// TestCredentialsPythonCompat decrypts with python cryptography's
// OAEP(MGF1(SHA256), SHA256, None), as the original renter does.
func TestCredentialsPythonCompat(t *testing.T) {
	python := testutil.Python(t, "cryptography")
	priv, pub := testutil.RSAKey(t)
	k, _ := ParseRequesterKey(pub)
	info, err := EncryptCredentials(k.Key, Credentials{Username: "root", Password: "Zx9", Port: 4444})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.pem")
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	script := `
import base64, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), password=None)
pt = key.decrypt(base64.b64decode(sys.argv[2]), padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
sys.stdout.write(pt.decode())
`
	out, err := exec.Command(python, "-c", script, keyFile, info).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v %s", err, out)
	}
	if string(out) != `{"username":"root","password":"Zx9","port":4444}` {
		t.Fatalf("python decrypted %s", out)
	}
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		p, err := GeneratePassword()
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != passwordLength || strings.Trim(p, passwordChars) != "" || seen[p] {
			t.Fatalf("bad password %q", p)
		}
		seen[p] = true
	}
}

func TestNormalizeSSHKey(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sk, _ := ssh.NewPublicKey(&ec.PublicKey)
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sk)))
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	smallKey, _ := ssh.NewPublicKey(&small.PublicKey)
	cases := []struct {
		name string
		in   string
		ok   bool
	}{
		{"plain", line, true},
		{"with comment", line + " renter@laptop\n", true},
		{"options", `command="/bin/sh" ` + line, false},
		{"two keys", line + "\n" + line, false},
		{"garbage", "ssh-ed25519 AAAA", false},
		{"newline injection", line + "\nPermitRootLogin yes", false},
		{"small rsa", string(ssh.MarshalAuthorizedKey(smallKey)), false},
		{"empty", "", false},
		{"oversized", strings.Repeat("A", maxSSHKeyBytes+1), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeSSHKey(tc.in)
			if !tc.ok {
				if !errors.Is(err, ErrInvalidPublicKey) {
					t.Fatalf("err = %v, want ErrInvalidPublicKey (got %q)", err, got)
				}
				return
			}
			if err != nil || got != line {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

func FuzzParseRequesterKey(f *testing.F) {
	_, spki := testutil.RSAKey(f)
	f.Add(spki)
	f.Add("-----BEGIN RSA PUBLIC KEY-----\nMAA=\n-----END RSA PUBLIC KEY-----\n")
	f.Add("-----BEGIN PUBLIC KEY-----\n\n-----END PUBLIC KEY-----")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseRequesterKey(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidPublicKey) {
				t.Fatalf("error without ErrInvalidPublicKey: %v", err)
			}
			return
		}
		again, err := ParseRequesterKey(k.PEM)
		if err != nil || again.Fingerprint != k.Fingerprint {
			t.Fatalf("canonical PEM does not parse back: %v", err)
		}
	})
}

func FuzzNormalizeSSHKey(f *testing.F) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sk, _ := ssh.NewPublicKey(&ec.PublicKey)
	f.Add(string(ssh.MarshalAuthorizedKey(sk)))
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x")
	f.Add(`from="*" ssh-rsa AAAA`)
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizeSSHKey(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidPublicKey) {
				t.Fatalf("error without ErrInvalidPublicKey: %v", err)
			}
			return
		}
		if strings.ContainsAny(out, "\n\r\"") {
			t.Fatalf("normalized key holds a newline or quote: %q", out)
		}
		if again, err := NormalizeSSHKey(out); err != nil || again != out {
			t.Fatalf("not idempotent: %q %v", again, err)
		}
	})
}
