package sdk

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
)

// ServeInProcess serves impl behind the real RPC shims and data channel
// inside this process, and returns the host's side of it. Calls cross gRPC
// on a Unix socket and streams cross the data channel exactly as with an
// external plugin; only the process boundary is missing. It is for
// conformance tests (sdk/plugintest) and for benchmarks that measure the
// cost of the plugin boundary. Kill stops it.
func ServeInProcess(ctx context.Context, impl Plugin) (*PluginProcess, error) {
	hostData, plugData, err := socketPair(syscall.SOCK_STREAM)
	if err != nil {
		return nil, fmt.Errorf("serve in process: %w", err)
	}
	hostFDs, plugFDs, err := socketPair(syscall.SOCK_SEQPACKET)
	if err != nil {
		return nil, fmt.Errorf("serve in process: %w", err)
	}
	hdc, err := channelFromFiles(hostData, hostFDs, false)
	if err != nil {
		return nil, fmt.Errorf("serve in process: %w", err)
	}
	pdc, err := channelFromFiles(plugData, plugFDs, true)
	if err != nil {
		hdc.close()
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
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(maxRecvMsg))
	registerServers(srv, impl, pdc)
	go func() { _ = srv.Serve(ln) }()
	cc, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		srv.Stop()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("serve in process: %w", err)
	}
	done := make(chan struct{})
	var once sync.Once
	rc := newRPCClient(cc, hdc, done)
	pp := &PluginProcess{rpc: rc, done: done, apiVer: APIVersion}
	pp.kill = func() {
		once.Do(func() {
			close(done)
			_ = cc.Close()
			srv.Stop()
			hdc.close()
			pdc.close()
			_ = os.RemoveAll(dir)
		})
	}
	info, err := rc.Info(ctx)
	if err != nil {
		pp.kill()
		return nil, fmt.Errorf("serve in process: %w", err)
	}
	pp.info = info
	return pp, nil
}

func channelFromFiles(stream, fds *os.File, plugin bool) (*dataChannel, error) {
	s, err := fileUnixConn(stream)
	if err != nil {
		_ = fds.Close()
		return nil, err
	}
	f, err := fileUnixConn(fds)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return newDataChannel(s, f, plugin)
}
