package container

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/moby/moby/client"

	"github.com/sn27/compute/docker"
	"github.com/sn27/compute/internal/testutil"
)

func TestEmbeddedBuildContext(t *testing.T) {
	var buf bytes.Buffer
	if err := tarFS(&buf, docker.Context); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	modes := map[string]int64{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		modes[h.Name] = h.Mode
	}
	if modes["Dockerfile"] != 0o644 || modes["compute-entry.sh"] != 0o755 || modes["sshd-compute.conf"] != 0o644 {
		t.Fatalf("build context %v", modes)
	}
}

func TestReadJSONMessages(t *testing.T) {
	var out bytes.Buffer
	if err := readJSONMessages(strings.NewReader("{\"stream\":\"Step 1/2\\n\"}\nnot json\n{\"status\":\"done\"}\n"), &out, "op"); err != nil {
		t.Fatal(err)
	}
	if out.String() != "Step 1/2\ndone\n" {
		t.Fatalf("progress %q", out.String())
	}
	if err := readJSONMessages(strings.NewReader(`{"error":"no space left on device"}`), io.Discard, "op"); !errors.Is(err, ErrDiskFull) {
		t.Fatal(err)
	}
}

func TestRealBuildAndImport(t *testing.T) {
	c := testutil.Docker(t)
	ctx := context.Background()
	b := make([]byte, 4)
	rand.Read(b)
	suffix := hex.EncodeToString(b)
	built, imported := "compute-ssh-build-test:"+suffix, "compute-ssh-import-test:"+suffix
	t.Cleanup(func() {
		c.ImageRemove(context.Background(), built, client.ImageRemoveOptions{Force: true})
		c.ImageRemove(context.Background(), imported, client.ImageRemoveOptions{Force: true})
	})

	// A build from a context whose base is the local test image needs no registry.
	fsys := fstest.MapFS{"Dockerfile": {Data: []byte("ARG BASE\nFROM ${BASE}\nLABEL org.sn27.compute.test=built\n")}}
	var progress bytes.Buffer
	if err := BuildImage(ctx, c, fsys, built, map[string]string{"BASE": testutil.SSHImage()}, &progress); err != nil {
		t.Fatalf("build: %v\n%s", err, progress.String())
	}
	insp, err := c.ImageInspect(ctx, built)
	if err != nil || insp.Config.Labels["org.sn27.compute.test"] != "built" {
		t.Fatalf("built image: %v", err)
	}
	bad := fstest.MapFS{"Dockerfile": {Data: []byte("FROM " + testutil.SSHImage() + "\nRUN exit 3\n")}}
	if err := BuildImage(ctx, c, bad, built+"-bad", nil, nil); err == nil {
		t.Fatal("failing build reported success")
	}

	if err := CheckImage(ctx, c, built); err != nil {
		t.Fatal(err)
	}
	if err := CheckImage(ctx, c, "compute-ssh:never-built"); !errors.Is(err, ErrImageMissing) {
		t.Fatalf("missing image: %v", err)
	}

	var rootfs bytes.Buffer
	tw := tar.NewWriter(&rootfs)
	tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
	tw.Write([]byte("hi"))
	tw.Close()
	raw := append([]byte(nil), rootfs.Bytes()...)
	if err := ImportRootfs(ctx, c, &rootfs, imported, map[string]string{"org.sn27.compute.image-hash": "abc"}); err != nil {
		t.Fatal(err)
	}
	if err := PrepareImage(ctx, c, ImageOptions{Tag: imported + "-p", Rootfs: bytes.NewReader(raw)}); err != nil {
		t.Fatal(err)
	}
	c.ImageRemove(ctx, imported+"-p", client.ImageRemoveOptions{Force: true})
	insp, err = c.ImageInspect(ctx, imported)
	if err != nil || len(insp.Config.Cmd) != 1 || insp.Config.Cmd[0] != entryPoint || insp.Config.Labels["org.sn27.compute.image-hash"] != "abc" {
		t.Fatalf("imported image: %+v %v", insp.Config, err)
	}
}
