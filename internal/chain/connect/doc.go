// Package connect chooses and opens the chain a command talks to from the
// Bittensor-style flags: an http(s):// endpoint or the "dev" network is a
// localnet (package devchain); a ws(s):// endpoint or the finney, test,
// archive and local networks are a subtensor node.
package connect
