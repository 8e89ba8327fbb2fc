package main

import (
	"github.com/spf13/pflag"

	"github.com/sn27/compute/internal/wallet"
)

// walletOptions are btcli's wallet flags, shared by every command that needs keys.
type walletOptions struct{ Path, Name, Hotkey string }

// AddFlags registers --wallet.path, --wallet.name and --wallet.hotkey.
func (o *walletOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Path, "wallet.path", "", "wallet root directory (default $"+wallet.EnvWalletPath+" or ~/.bittensor/wallets)")
	fs.StringVar(&o.Name, "wallet.name", "default", "wallet (coldkey) name")
	fs.StringVar(&o.Hotkey, "wallet.hotkey", "default", "hotkey name within the wallet")
}

// Open returns the wallet the flags name; it reads nothing yet.
func (o *walletOptions) Open() *wallet.Wallet { return wallet.New(o.Path, o.Name, o.Hotkey) }
