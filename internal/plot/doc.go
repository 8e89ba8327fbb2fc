// Package plot writes small, self-contained SVG charts (a line chart and a
// grouped bar chart) for benchmark and devnet reports. It has no
// dependencies beyond the standard library, its output is deterministic, and
// every label is XML-escaped, so names read from the network are safe to
// plot. Values that are NaN, infinite or beyond ±1e300 are left out.
package plot
