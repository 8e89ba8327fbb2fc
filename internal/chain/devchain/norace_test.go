//go:build !race

package devchain

// raceDetector is true in a -race build, whose instrumented SQLite is about
// twenty times slower.
const raceDetector = false
