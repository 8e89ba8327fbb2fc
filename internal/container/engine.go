package container

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"
)

// Engine is the part of the Docker Engine API the lease manager uses. *client.Client
// satisfies it; unit tests use a fake.
type Engine interface {
	Info(ctx context.Context, opts client.InfoOptions) (client.SystemInfoResult, error)
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ContainerCreate(ctx context.Context, opts client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	CopyToContainer(ctx context.Context, id string, opts client.CopyToContainerOptions) (client.CopyToContainerResult, error)
	CopyFromContainer(ctx context.Context, id string, opts client.CopyFromContainerOptions) (client.CopyFromContainerResult, error)
	ContainerStart(ctx context.Context, id string, opts client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerRestart(ctx context.Context, id string, opts client.ContainerRestartOptions) (client.ContainerRestartResult, error)
	ContainerInspect(ctx context.Context, id string, opts client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerList(ctx context.Context, opts client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerRemove(ctx context.Context, id string, opts client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
	NetworkCreate(ctx context.Context, name string, opts client.NetworkCreateOptions) (client.NetworkCreateResult, error)
	NetworkList(ctx context.Context, opts client.NetworkListOptions) (client.NetworkListResult, error)
	NetworkRemove(ctx context.Context, id string, opts client.NetworkRemoveOptions) (client.NetworkRemoveResult, error)
	VolumeCreate(ctx context.Context, opts client.VolumeCreateOptions) (client.VolumeCreateResult, error)
	VolumeList(ctx context.Context, opts client.VolumeListOptions) (client.VolumeListResult, error)
	VolumeRemove(ctx context.Context, id string, opts client.VolumeRemoveOptions) (client.VolumeRemoveResult, error)
}

var _ Engine = (*client.Client)(nil)

// Errors from the Docker Engine, classified so callers and operators know what to fix.
var (
	ErrDockerUnavailable = errors.New("container: Docker daemon is not reachable (is dockerd running? check DOCKER_HOST and /var/run/docker.sock)")
	ErrImageMissing      = errors.New("container: lease image is missing (build it with `compute miner image build`, or import the tarball scripts/build-test-image.sh makes with `compute miner image import`, or name another image)")
	ErrPortInUse         = errors.New("container: the SSH port is already in use on this host (choose another lease SSH port)")
	ErrDiskFull          = errors.New("container: no space left on the Docker host's disk")
)

// Dial connects to the Docker daemon named by the environment (DOCKER_HOST, default the
// local socket), negotiating the API version, and checks that it answers.
func Dial(ctx context.Context) (*client.Client, error) {
	c, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		c.Close()
		return nil, classify("ping docker", err)
	}
	return c, nil
}

// classify wraps a Docker error with the matching sentinel, keeping the original.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	msg := strings.ToLower(err.Error())
	switch {
	case client.IsErrConnectionFailed(err) || strings.Contains(msg, "cannot connect to the docker daemon"):
		return fmt.Errorf("%s: %w: %w", op, ErrDockerUnavailable, err)
	case strings.Contains(msg, "port is already allocated") || strings.Contains(msg, "address already in use"):
		return fmt.Errorf("%s: %w: %w", op, ErrPortInUse, err)
	case strings.Contains(msg, "no space left on device"):
		return fmt.Errorf("%s: %w: %w", op, ErrDiskFull, err)
	case cerrdefs.IsNotFound(err) && (strings.Contains(msg, "no such image") || strings.Contains(msg, "image")):
		return fmt.Errorf("%s: %w: %w", op, ErrImageMissing, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// ProbeHost reads what the Docker host offers: CPUs, memory, the storage driver's quota
// support and free space. GPUs come from the caller (the GPU inventory).
func ProbeHost(ctx context.Context, e Engine, gpus []HostGPU) (Host, error) {
	res, err := e.Info(ctx, client.InfoOptions{})
	if err != nil {
		return Host{}, classify("docker info", err)
	}
	info := res.Info
	h := Host{MemoryBytes: info.MemTotal, GPUs: gpus}
	for i := 0; i < info.NCPU; i++ {
		h.CPUs = append(h.CPUs, i)
	}
	backing := ""
	for _, kv := range info.DriverStatus {
		if kv[0] == "Backing Filesystem" {
			backing = kv[1]
		}
	}
	h.DiskQuota, h.DiskQuotaReason = quotaSupport(info.Driver, backing)
	if info.DockerRootDir != "" {
		var st unix.Statfs_t
		if unix.Statfs(info.DockerRootDir, &st) == nil {
			h.DiskFreeBytes = int64(st.Bavail) * int64(st.Bsize)
		}
	}
	return h, nil
}

// quotaSupport says whether a storage driver enforces StorageOpt size.
func quotaSupport(driver, backing string) (bool, string) {
	switch driver {
	case "btrfs", "zfs", "devicemapper", "windowsfilter":
		return true, ""
	case "overlay2":
		if backing == "xfs" {
			// Enforced only when the filesystem is mounted with pquota; a create that
			// fails for that reason is retried without the quota and a warning recorded.
			return true, ""
		}
		return false, fmt.Sprintf("storage driver overlay2 on %s cannot limit a container's size (needs xfs mounted with pquota)", orUnknown(backing))
	}
	return false, fmt.Sprintf("storage driver %s cannot limit a container's size", orUnknown(driver))
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown filesystem"
	}
	return s
}
