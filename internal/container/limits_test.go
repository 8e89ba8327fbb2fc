package container

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sn27/compute/internal/gpu"
)

func TestComputeLimits(t *testing.T) {
	host := Host{CPUs: []int{0, 1, 2, 3}, MemoryBytes: 8 << 30, DiskFreeBytes: 100 << 30,
		GPUs: []HostGPU{{ID: "0", Name: "NVIDIA GeForce RTX 4090", CapacityMB: 24564}, {ID: "1", Name: "NVIDIA GeForce RTX 4090", CapacityMB: 24564}, {ID: "2", Name: "NVIDIA A100-SXM4-80GB", CapacityMB: 81920}}}
	quota := host
	quota.DiskQuota = true
	volumes := host
	volumes.DiskVolumes, volumes.IPv6 = true, true
	req := func(cpu int, ram, disk int64, gpu GPURequirement) Requirement {
		return Requirement{CPU: CPURequirement{cpu}, RAM: SizeRequirement{ram}, Disk: SizeRequirement{disk}, GPU: gpu}
	}
	cases := []struct {
		name string
		req  Requirement
		host Host
		want Limits
		err  error
	}{
		{"one cpu from the end", req(1, 1<<30, 0, GPURequirement{}), host,
			Limits{CPUSet: "3", CPUCount: 1, NanoCPUs: 1e9, MemoryBytes: 1 << 30, MemorySwapBytes: 1 << 30, PidsLimit: DefaultPidsLimit}, nil},
		{"three cpus", req(3, 1<<30, 0, GPURequirement{}), host,
			Limits{CPUSet: "1-3", CPUCount: 3, NanoCPUs: 3e9, MemoryBytes: 1 << 30, MemorySwapBytes: 1 << 30, PidsLimit: DefaultPidsLimit}, nil},
		{"disk quota enforced", req(1, 1<<30, 10<<30, GPURequirement{}), quota,
			Limits{CPUSet: "3", CPUCount: 1, NanoCPUs: 1e9, MemoryBytes: 1 << 30, MemorySwapBytes: 1 << 30, PidsLimit: DefaultPidsLimit, DiskBytes: 10 << 30}, nil},
		{"disk on a sized volume, IPv6 turned off", req(1, 1<<30, 10<<30, GPURequirement{}), volumes,
			Limits{CPUSet: "3", CPUCount: 1, NanoCPUs: 1e9, MemoryBytes: 1 << 30, MemorySwapBytes: 1 << 30, PidsLimit: DefaultPidsLimit, DiskBytes: 10 << 30, DiskVolume: true, DisableIPv6: true}, nil},
		{"two 4090s exactly", req(1, 1<<30, 0, GPURequirement{Count: 2, CapacityMB: 24000, Type: "4090"}), host,
			Limits{CPUSet: "3", CPUCount: 1, NanoCPUs: 1e9, MemoryBytes: 1 << 30, MemorySwapBytes: 1 << 30, PidsLimit: DefaultPidsLimit, GPUIDs: []string{"0", "1"}}, nil},
		{"one big gpu", req(1, 1<<30, 0, GPURequirement{Count: 1, CapacityMB: 40000}), host,
			Limits{CPUSet: "3", CPUCount: 1, NanoCPUs: 1e9, MemoryBytes: 1 << 30, MemorySwapBytes: 1 << 30, PidsLimit: DefaultPidsLimit, GPUIDs: []string{"2"}}, nil},
		{"gpu type case-insensitive", req(1, 1<<30, 0, GPURequirement{Count: 1, Type: "a100"}), host,
			Limits{CPUSet: "3", CPUCount: 1, NanoCPUs: 1e9, MemoryBytes: 1 << 30, MemorySwapBytes: 1 << 30, PidsLimit: DefaultPidsLimit, GPUIDs: []string{"2"}}, nil},
		{"too many cpus", req(5, 1<<30, 0, GPURequirement{}), host, Limits{}, ErrInsufficientResources},
		{"too much ram", req(1, 9<<30, 0, GPURequirement{}), host, Limits{}, ErrInsufficientResources},
		{"too much disk", req(1, 1<<30, 200<<30, GPURequirement{}), host, Limits{}, ErrInsufficientResources},
		{"three 4090s", req(1, 1<<30, 0, GPURequirement{Count: 3, Type: "4090"}), host, Limits{}, ErrInsufficientResources},
		{"nominal 24576 MB fits a 4090 reporting 24564", req(1, 1<<30, 0, GPURequirement{Count: 1, CapacityMB: 24576, Type: "4090"}), host,
			Limits{CPUSet: "3", CPUCount: 1, NanoCPUs: 1e9, MemoryBytes: 1 << 30, MemorySwapBytes: 1 << 30, PidsLimit: DefaultPidsLimit, GPUIDs: []string{"0"}}, nil},
		{"25000 MB does not fit a 4090", req(1, 1<<30, 0, GPURequirement{Count: 1, CapacityMB: 25000, Type: "4090"}), Host{CPUs: []int{0}, MemoryBytes: 8 << 30, GPUs: host.GPUs[:2]}, Limits{}, ErrInsufficientResources},
		{"gpu on gpu-less host", req(1, 1<<30, 0, GPURequirement{Count: 1}), Host{CPUs: []int{0}, MemoryBytes: 8 << 30}, Limits{}, ErrInsufficientResources},
		{"invalid requirement", req(0, 1<<30, 0, GPURequirement{}), host, Limits{}, ErrInvalidRequirement},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ComputeLimits(tc.req, tc.host, 0)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestComputeLimitsDiskWarning(t *testing.T) {
	l, err := ComputeLimits(Requirement{CPU: CPURequirement{1}, RAM: SizeRequirement{1 << 30}, Disk: SizeRequirement{1 << 30}},
		Host{CPUs: []int{0}, DiskQuotaReason: "overlay2 on extfs"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if l.DiskBytes != 0 || len(l.Warnings) != 1 {
		t.Fatalf("limits %+v", l)
	}
}

func TestCPUList(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{{nil, ""}, {[]int{0}, "0"}, {[]int{1, 2, 3}, "1-3"}, {[]int{0, 2, 3, 5}, "0,2-3,5"}} {
		if got := cpuList(tc.in); got != tc.want {
			t.Errorf("cpuList(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestQuotaSupport(t *testing.T) {
	for _, tc := range []struct {
		driver, backing string
		want            bool
	}{{"overlay2", "xfs", true}, {"overlay2", "extfs", false}, {"btrfs", "", true}, {"vfs", "", false}} {
		if got, reason := quotaSupport(tc.driver, tc.backing); got != tc.want || (!got && reason == "") {
			t.Errorf("quotaSupport(%s, %s) = %v %q", tc.driver, tc.backing, got, reason)
		}
	}
}

func TestContainerSpecGPUs(t *testing.T) {
	hosts := HostGPUs(gpu.Inventory{GPUs: []gpu.GPU{
		{Index: 0, Name: "NVIDIA GeForce RTX 4090", UUID: "GPU-aaa", MemoryTotal: 24 << 30},
		{Index: 1, Name: "NVIDIA GeForce RTX 4090", MemoryTotal: 24 << 30},
		{Index: 2, Name: "NVIDIA GeForce RTX 4090", UUID: "GPU-ccc", MemoryTotal: 24 << 30},
	}})
	if hosts[0].ID != "GPU-aaa" || hosts[1].ID != "1" || hosts[0].CapacityMB != 24<<10 {
		t.Fatalf("host GPUs %+v", hosts)
	}
	lim, err := ComputeLimits(Requirement{CPU: CPURequirement{1}, RAM: SizeRequirement{1 << 30}, GPU: GPURequirement{Count: 2, CapacityMB: 24576, Type: "4090"}},
		Host{CPUs: []int{0, 1}, GPUs: hosts}, 0)
	if err != nil {
		t.Fatal(err)
	}
	spec := ContainerSpec(Config{Image: "img", Owner: "o"}, &Lease{ID: "l", Port: 4444}, lim)
	dr := spec.HostConfig.DeviceRequests
	if len(dr) != 1 || dr[0].Count != 0 || !reflect.DeepEqual(dr[0].DeviceIDs, []string{"GPU-aaa", "1"}) || dr[0].Capabilities[0][0] != "gpu" {
		t.Fatalf("device requests %+v", dr)
	}
	if spec.HostConfig.Privileged || spec.HostConfig.NetworkMode != "bridge" {
		t.Fatal("privileged or host network")
	}
}
