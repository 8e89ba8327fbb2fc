package release

import (
	"debug/elf"
	"fmt"
	"strings"
)

// elfMachines maps GOARCH names in platforms to ELF machine types.
var elfMachines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64,
	"arm64": elf.EM_AARCH64,
	"386":   elf.EM_386,
	"arm":   elf.EM_ARM,
}

// CheckBinary checks that the file at path is what platform promises: a
// Linux ELF executable for its architecture and, for a "-nogpu" platform,
// statically linked (no program interpreter), as a release's binaries must
// be. Platforms other than Linux are not checked.
func CheckBinary(path, platform string) error {
	rest, ok := strings.CutPrefix(platform, "linux-")
	if !ok {
		return nil
	}
	arch, static := strings.CutSuffix(rest, "-nogpu")
	want, known := elfMachines[arch]
	if !known {
		return fmt.Errorf("platform %s: unknown architecture %q", platform, arch)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: not an ELF binary: %w", path, err)
	}
	defer f.Close()
	if f.Machine != want {
		return fmt.Errorf("%s is built for %v, not for platform %s", path, f.Machine, platform)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("%s is not an executable (%v)", path, f.Type)
	}
	if static {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				return fmt.Errorf("%s is dynamically linked, but platform %s is the static build", path, platform)
			}
		}
	}
	return nil
}
