//go:build race

package main

// raceEnabled: the race detector slows the real KDFs about tenfold.
const walletRaceEnabled = true
