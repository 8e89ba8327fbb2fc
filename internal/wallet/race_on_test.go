//go:build race

package wallet

// raceEnabled: the race detector slows the real KDFs about tenfold.
const raceEnabled = true
