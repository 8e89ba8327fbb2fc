package wallet

import (
	"encoding/hex"
	"testing"
)

func TestVectors(t *testing.T) {
	cases := []struct {
		name, uri, pub, ss58 string
	}{
		{"alice", "//Alice", "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"},
		{"old leopard", "old leopard transfer rib spatial phone calm indicate online fire caution review", "e4359ad3e2716c539a1d663ebd0a51bdc5c98a12e663bb4c4402db47828c9446", "5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX"},
		{"alice stash hard", "//Alice//stash", "", "5GNJqTPyNqANBkUVMN1LPPrxXnFouWXoe2wNSmmEoLctxiZY"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kp, err := FromURI(tc.uri)
			if err != nil {
				t.Fatal(err)
			}
			pub := kp.PublicKey()
			if tc.pub != "" && hex.EncodeToString(pub[:]) != tc.pub {
				t.Errorf("pub = %x, want %s", pub, tc.pub)
			}
			if got := kp.SS58Address(); got != tc.ss58 {
				t.Errorf("ss58 = %s, want %s", got, tc.ss58)
			}
			sig, err := kp.Sign([]byte("hello"))
			if err != nil {
				t.Fatal(err)
			}
			if !VerifySS58(tc.ss58, []byte("hello"), sig) {
				t.Error("signature does not verify")
			}
			if VerifySS58(tc.ss58, []byte("hellO"), sig) {
				t.Error("signature verifies for another message")
			}
		})
	}
}

func TestOldLeopardPrivateKey(t *testing.T) {
	kp, err := FromMnemonic("old leopard transfer rib spatial phone calm indicate online fire caution review", "")
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := kp.PrivateKey()
	want := "1f1995bdf3a17b60626a26cfe6f564b337d46056b7a1281b64c649d592ccda0a9cffd34d9fb01cae1fba61aeed184c817442a2186d5172416729a4b54dd4b84e"
	if hex.EncodeToString(pk) != want {
		t.Errorf("private key = %x\nwant %s", pk, want)
	}
	s0, _ := kp.SS58(0)
	if s0 != "16ADqpMa4yzfmWs3nuTSMhfZ2ckeGtvqhPWCNqECEGDcGgU2" {
		t.Errorf("ss58/0 = %s", s0)
	}
	seed, _ := kp.Seed()
	if hex.EncodeToString(seed) != "da3cf5b1e9144931a0f0db65664aab662673b099415a7f8121b7245fb0be4143" {
		t.Errorf("seed = %x", seed)
	}
}

func TestDeadbeefSignature(t *testing.T) {
	pub, _ := hex.DecodeString("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
	sig, _ := hex.DecodeString("dc7cf771e1989a5c3cddca30ec5efaeff9a5c14a36c3c032510019e7144e0375f9207ef6745390ca3dc76b307b26f60125c942e2b7fb23100cc79402a12dde8b")
	var p [32]byte
	copy(p[:], pub)
	if !Verify(p, []byte{0xde, 0xad, 0xbe, 0xef}, sig) {
		t.Fatal("DEADBEEF vector does not verify")
	}
	sig[0] = 0x0c
	if Verify(p, []byte{0xde, 0xad, 0xbe, 0xef}, sig) {
		t.Fatal("tampered vector verifies")
	}
}

// TestWireSpecVectors asserts the remaining key vectors of the wire notes'
// section 4: vector 1's mini secret and prefix-2 address, vector 6's 64-byte
// secret (the notes give its first and last bytes) and vector 7, the
// substrate-bip39 seed with the password "Substrate".
func TestWireSpecVectors(t *testing.T) {
	seed6, _ := hex.DecodeString("f30eb58ad9bde4a702da3c723709cbfaf7030b22d5e4d16bcbf733c9c09bf6bd")
	tests := []struct {
		name    string
		key     func() (*Keypair, error)
		seed    string // full mini secret, hex
		ss58    string // address with prefix
		prefix  uint16
		privPre string // private key prefix and suffix, hex
		privSuf string
	}{
		{name: "vector 1 //Alice", key: func() (*Keypair, error) { return FromURI("//Alice") },
			seed: "e5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a",
			ss58: "HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F", prefix: 2},
		{name: "vector 6 raw seed", key: func() (*Keypair, error) { return FromSeed(seed6) },
			seed:    "f30eb58ad9bde4a702da3c723709cbfaf7030b22d5e4d16bcbf733c9c09bf6bd",
			privPre: "1a470f5b", privSuf: "5edcff"},
		{name: "vector 7 abandon x11 about, password Substrate", key: func() (*Keypair, error) {
			return FromMnemonic("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about", "Substrate")
		}, seed: "44e9d125f037ac1d51f0a7d3649689d422c2af8b1ec8e00d71db4d7bf6d127e3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kp, err := tc.key()
			if err != nil {
				t.Fatal(err)
			}
			if seed, ok := kp.Seed(); !ok || hex.EncodeToString(seed) != tc.seed {
				t.Errorf("mini secret = %x (known %v), want %s", seed, ok, tc.seed)
			}
			if tc.ss58 != "" {
				if got, err := kp.SS58(tc.prefix); err != nil || got != tc.ss58 {
					t.Errorf("SS58/%d = %s, %v; want %s", tc.prefix, got, err, tc.ss58)
				}
			}
			if tc.privPre != "" {
				priv, _ := kp.PrivateKey()
				h := hex.EncodeToString(priv)
				if len(priv) != 64 || h[:len(tc.privPre)] != tc.privPre || h[len(h)-len(tc.privSuf):] != tc.privSuf {
					t.Errorf("private key = %s, want %s...%s", h, tc.privPre, tc.privSuf)
				}
			}
		})
	}
}
