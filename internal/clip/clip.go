// Package clip shortens text that goes into messages and logs: a peer's
// answer, a value an operator typed, a payload that did not parse.
package clip

// String returns s cut to its first n bytes with "..." appended when it is
// longer than n, and s itself otherwise. The cut is by bytes, so it may split
// a multi-byte character; callers that print the result to a terminal make it
// valid UTF-8 themselves.
func String(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
