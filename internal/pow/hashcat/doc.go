// Package hashcat is the proof-of-work solver that runs the hashcat binary,
// as the original miner did: `hashcat <hash>:<salt> -a 3 -D 2 -m 610 -1
// <chars> <mask> -w <profile> <extended options>`, plus flags that keep runs
// independent (no potfile, a private session name and outfile per run).
//
// On machines without a GPU the device-type filter also admits CPU devices
// (e.g. PoCL), so the solver works in CI. Each run is one process group,
// killed when the context ends. Answers are checked against the job before
// they are returned. A Solver is safe for concurrent use.
package hashcat
