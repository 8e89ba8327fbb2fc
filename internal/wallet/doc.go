// Package wallet holds Bittensor-compatible sr25519 keys and the btcli wallet
// on disk: derivation from mnemonics, seeds and URIs (with hard and soft
// junctions), SS58 addresses, signing with the "substrate" context, and
// keyfiles under <path>/<name>/{coldkey,coldkeypub.txt,hotkeys/<hotkey>}.
//
// Keyfiles are read in every format btcli has used: plain JSON (the btcli 6.x
// shape without privateKey and the bittensor-wallet shape with it), a legacy
// "0x<hex>" coldkeypub, "$NACL" (Argon2i + XSalsa20-Poly1305, written by
// default), Ansible Vault 1.1 and Fernet. Writes are atomic (0600 temp file,
// fsync, rename; directories 0700) and never replace a key unless asked.
// A file whose address disagrees with its secret is refused.
//
// Keypair values are immutable and safe for concurrent use. Wallet holds only
// names; its methods read the files on every call.
package wallet
