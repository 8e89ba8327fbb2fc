// Package version holds the release version of compute and its Bittensor
// integer forms.
package version
