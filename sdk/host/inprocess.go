package host

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/internal/datachan"
	"github.com/ferry-p2p/ferry/sdk/internal/rpc"
)

// ServeInProcess serves impl behind the real RPC shims and data channel
// inside this process, and returns the host's side of it. Calls cross gRPC
// on a Unix socket and streams cross the data channel exactly as with an
// external plugin; only the process boundary is missing. It is for
// conformance tests (sdk/plugintest) and for benchmarks that measure the
// cost of the plugin boundary. Kill stops it.
func ServeInProcess(ctx context.Context, impl sdk.Plugin) (*Process, error) {
	hostData, plugData, err := datachan.SocketPair(syscall.SOCK_STREAM)
	if err != nil {
		return nil, fmt.Errorf("serve in process: %w", err)
	}
	hostFDs, plugFDs, err := datachan.SocketPair(syscall.SOCK_SEQPACKET)
	if err != nil {
		return nil, fmt.Errorf("serve in process: %w", err)
	}
	hdc, err := datachan.FromFiles(hostData, hostFDs, false)
	if err != nil {
		return nil, fmt.Errorf("serve in process: %w", err)
	}
	pdc, err := datachan.FromFiles(plugData, plugFDs, true)
	if err != nil {
		hdc.Close()
		return nil, fmt.Errorf("serve in process: %w", err)
	}
	dir, err := os.MkdirTemp("", "ferry-inproc-")
	if err != nil {
		return nil, fmt.Errorf("serve in process: %w", err)
	}
	sock := filepath.Join(dir, "grpc.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("serve in process: %w", err)
	}
	srv := rpc.NewServer(nil)
	rpc.Register(srv, impl, pdc)
	go func() { _ = srv.Serve(ln) }()
	cc, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		srv.Stop()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("serve in process: %w", err)
	}
	done := make(chan struct{})
	var once sync.Once
	rc := rpc.NewClient(cc, hdc, done)
	p := &Process{rpc: rc, done: done, apiVer: sdk.APIVersion}
	p.kill = func() {
		once.Do(func() {
			close(done)
			_ = cc.Close()
			srv.Stop()
			hdc.Close()
			pdc.Close()
			_ = os.RemoveAll(dir)
		})
	}
	info, err := rc.Info(ctx)
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("serve in process: %w", err)
	}
	p.info = info
	return p, nil
}
