package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/core/api"
	"github.com/ferry-p2p/ferry/core/api/forward"
	ferryhome "github.com/ferry-p2p/ferry/core/home"
	"github.com/ferry-p2p/ferry/core/node"
)

// daemonRetryFor is how long the daemon's automatic resumes keep trying
// after a broken connection; a transfer still unfinished then is taken
// up again when its peer comes back.
const daemonRetryFor = time.Minute

// shutdownTimeout bounds how long the API's requests may take to end
// when the daemon stops.
const shutdownTimeout = 5 * time.Second

func (a *app) daemonCommand() *cobra.Command {
	var dir, listen string
	cmd := &cobra.Command{
		Use:   "daemon [--listen 127.0.0.1:PORT]",
		Short: "Run this device as a long-running node with a local API and web page",
		Long: `Run this device until stopped: plugins started once, discovery always on,
offers received into --dir (else transfer.dir, else the current folder), this
device's unfinished outgoing transfers resumed by themselves whenever their
peer is in sight (also after the daemon restarts).

Offers from peers not in transfer.auto_accept wait for an answer from the
API: "ferry accept" / "ferry refuse" in another terminal, or the web page.
While a daemon runs, "ferry send", "ferry status" and "ferry peers" go
through it (no plugin is started for them).

The API is HTTP and JSON on the Unix socket $FERRY_HOME/ferry.sock (mode
0600). With --listen it is also served, with the web page, on that loopback
address (127.0.0.1 or ::1 only): programs send the key of
$FERRY_HOME/api.key in the X-API-Key header; a browser opens the login
address printed at start, which sets a session cookie (requests that change
something also carry the page's CSRF token); a Host header other than the
listener's address is refused (DNS rebinding).

One daemon runs per FERRY_HOME: a second one refuses, naming the first one's
PID. The daemon will not start if FERRY_HOME is open to other users (chmod
700 it). SIGHUP or "ferry config reload" reloads the config as SIGHUP does
for "ferry receive": a config that does not check is refused and the old one
stays in force. SIGINT or SIGTERM stops it; transfers under way resume when
it runs again. configs/ferry.service is a systemd user unit for it.`,
		Example: `  ferry daemon
  ferry daemon --listen 127.0.0.1:8385 --dir ~/Downloads`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runDaemon(cmd, dir, listen)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "folder to receive into (default: transfer.dir, else the current folder)")
	f.StringVar(&listen, "listen", "", "also serve the API and the web page on this loopback address (127.0.0.1:PORT; port 0 picks one)")
	return cmd
}

func (a *app) runDaemon(cmd *cobra.Command, dir, listen string) error {
	ctx := cmd.Context()
	home, err := a.home()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("the Ferry home %s: %w", home, err)
	}
	if err := checkHomePrivate(home); err != nil {
		return err
	}
	release, err := lockHome(home)
	if err != nil {
		return err
	}
	defer release()
	var tcp net.Listener
	if listen != "" {
		if _, err := allowedListen(listen); err != nil {
			return err
		}
		if tcp, err = net.Listen("tcp", listen); err != nil {
			return fmt.Errorf("--listen: %w", err)
		}
		defer tcp.Close()
	}
	s, err := a.startNode(ctx, cmd, nil, node.Options{})
	if err != nil {
		return err
	}
	defer a.closeSession(s)
	if dir, err = receiveDir(dir, s.cfg); err != nil {
		return err
	}
	inbox, err := inboxOf(s.cfg, dir)
	if err != nil {
		return err
	}
	defer inbox.Close()
	box, err := openOutbox(s)
	if err != nil {
		return err
	}
	defer box.Close()
	auto, err := autoAccept(s.cfg)
	if err != nil {
		return err
	}
	dctx, stopRuns := context.WithCancel(ctx)
	uploads := filepath.Join(home, "uploads")
	d := newDaemon(dctx, a, cmd, s, box, inbox.Dir(), uploads)
	defer d.wait()
	defer stopRuns()
	offers := api.NewOffers()
	offers.Log = a.log
	s.node.Serve(inbox, auto, offers.Decide)
	key := ""
	if tcp != nil {
		if key, err = loadAPIKey(home); err != nil {
			return err
		}
	}
	srv, err := api.New(api.Options{Backend: d, Offers: offers, Key: key, UploadDir: uploads, Logger: a.log})
	if err != nil {
		return err
	}
	defer srv.Close()
	// The front's command line socket first: once the API's answers,
	// both do.
	cli, err := listenSocket(home, ferryhome.CLISocketName)
	if err != nil {
		return err
	}
	sock, err := listenSocket(home, api.SocketName)
	if err != nil {
		_ = cli.Close()
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopRuns() // before the wait: the servers stop with dctx
	wg.Go(func() {
		if err := forward.Serve(dctx, cli, a.forwardedRunner(home)); err != nil {
			a.log.Warn("command line socket stopped", "err", err)
		}
	})
	serve := func(l net.Listener, h http.Handler) {
		hs := &http.Server{Handler: h, BaseContext: func(net.Listener) context.Context { return dctx }, ReadHeaderTimeout: 10 * time.Second}
		wg.Go(func() {
			if err := hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Warn("API server stopped", "addr", l.Addr().String(), "err", err)
			}
		})
		wg.Go(func() {
			<-dctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			_ = hs.Shutdown(sctx)
		})
	}
	serve(sock, srv.SocketHandler())
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "daemon for %s (%s), PID %d, receiving into %s; API on %s\n", s.cfg.DeviceName(), s.id.ID, os.Getpid(), inbox.Dir(), filepath.Join(home, api.SocketName))
	if tcp != nil {
		h, err := srv.TCPHandler(tcp.Addr().String())
		if err != nil {
			return err
		}
		serve(tcp, h)
		fmt.Fprintf(out, "web page: http://%s/login?key=%s\n", tcp.Addr(), key)
	}
	wait := d.out.AutoResume(dctx, daemonRetryFor)
	defer wait()
	defer a.watchReload(ctx, cmd, s, func(line string) { a.log.Info(line) })()
	<-ctx.Done()
	stopRuns()
	return nil
}

// allowedListen checks that --listen names a loopback address.
func allowedListen(addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--listen %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("--listen %q: the API and web page listen on a loopback address only (127.0.0.1:PORT or [::1]:PORT)", addr)
	}
	return host, nil
}

// listenSocket listens on the daemon's socket name in home, mode 0600. A
// file left there by a daemon that was killed is removed first (the caller
// holds the home's daemon lock, so no daemon uses it).
func listenSocket(home, name string) (net.Listener, error) {
	path := filepath.Join(home, name)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("daemon socket: %w", err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("daemon socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("daemon socket: %w", err)
	}
	return l, nil
}
