package version

// Major, Minor and Patch form the release version 1.4.2.
const (
	Major = 1
	Minor = 4
	Patch = 2
)

// String is the dotted release version (Major.Minor.Patch).
const String = "1.4.2"

// Int is the version as the original subnet encodes it: 100*major + 10*minor + patch
// (1.4.2 -> 142). It is the weights version_key and the axon version.
const Int = 100*Major + 10*Minor + Patch

// SpecVersion is the Bittensor SDK >= 7.2 encoding (major*1e6 + minor*1e3 + patch).
const SpecVersion = Major*1_000_000 + Minor*1_000 + Patch
