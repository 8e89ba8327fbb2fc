//go:build !race

package main

const walletRaceEnabled = false
