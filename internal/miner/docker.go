package miner

import (
	"context"
	"errors"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	lease "github.com/sn27/compute/internal/container"
)

// probeDocker proves that the daemon can run a container from the lease image: it
// creates one running /bin/true (no network, no capabilities), starts it, waits for it
// and removes it.
func probeDocker(ctx context.Context, cli *client.Client, image string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := cli.ImageInspect(ctx, image); err != nil {
		if cerrdefs.IsNotFound(err) {
			return fmt.Errorf("lease image %s: %w", image, lease.ErrImageMissing)
		}
		return fmt.Errorf("lease image %s: %w", image, err)
	}
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{
			Image:      image,
			Entrypoint: []string{"/bin/true"},
			Cmd:        []string{},
			Labels:     map[string]string{"org.sn27.compute.probe": "1"},
		},
		HostConfig: &container.HostConfig{
			NetworkMode: "none",
			CapDrop:     []string{"ALL"},
			AutoRemove:  false,
		},
	})
	if err != nil {
		return fmt.Errorf("create a test container from %s: %w", image, err)
	}
	defer func() {
		rctx, rcancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer rcancel()
		cli.ContainerRemove(rctx, created.ID, client.ContainerRemoveOptions{Force: true})
	}()
	wait := cli.ContainerWait(ctx, created.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start a test container from %s: %w", image, err)
	}
	select {
	case res := <-wait.Result:
		if res.Error != nil && res.Error.Message != "" {
			return fmt.Errorf("test container from %s: %s", image, res.Error.Message)
		}
		if res.StatusCode != 0 {
			return fmt.Errorf("test container from %s exited with status %d", image, res.StatusCode)
		}
		return nil
	case err := <-wait.Error:
		return fmt.Errorf("wait for the test container from %s: %w", image, err)
	case <-ctx.Done():
		return errors.Join(fmt.Errorf("test container from %s did not finish", image), ctx.Err())
	}
}
