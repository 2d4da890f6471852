package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/core/config"
	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/core/node"
	"github.com/ferry-p2p/ferry/core/plugins"
	"github.com/ferry-p2p/ferry/core/secure"
	"github.com/ferry-p2p/ferry/core/transfer"
	"github.com/ferry-p2p/ferry/sdk"
)

// debugProtocol is the ALPN protocol ID of the debug greeting.
const debugProtocol = "/ferry/debug/1"

// greetingTimeout bounds the greeting exchange after the handshake.
const greetingTimeout = 10 * time.Second

func (a *app) debugCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "debug",
		Short: "Developer tools: connect two peers by hand",
		Long: `Developer tools that exercise a transport plugin and the secure channel
without discovery or signaling: "listen" writes a card file with its peer ID
and transport description, "dial" reads it and connects. Both sides verify
each other's peer ID in a TLS 1.3 handshake and exchange a one-line greeting.`,
		Example: `  FERRY_HOME=/tmp/b ferry debug listen --card /tmp/card.json &
  FERRY_HOME=/tmp/a ferry debug dial --card /tmp/card.json`,
	}
	cmd.AddCommand(a.debugListenCommand(), a.debugDialCommand(), a.debugSendCommand())
	return cmd
}

// debugSession is what listen and dial share once the config is loaded.
type debugSession struct {
	cfg *config.Config
	id  *identity.Identity
	cat *plugins.Catalog
	tr  sdk.Transport
}

// openTransport loads config and identity and starts the transport
// instance. The caller must close s.cat.
func (a *app) openTransport(ctx context.Context, cmd *cobra.Command, name string) (*debugSession, error) {
	cfg, id, cat, err := a.openPlugins(cmd)
	if err != nil {
		return nil, err
	}
	inst, err := cat.Instance(name)
	if err == nil {
		var tr sdk.Transport
		if tr, err = inst.Transport(ctx); err == nil {
			return &debugSession{cfg: cfg, id: id, cat: cat, tr: tr}, nil
		}
	}
	a.closeCatalog(cat)
	return nil, fmt.Errorf("transport %q: %w", name, err)
}

func (a *app) debugListenCommand() *cobra.Command {
	var (
		cardPath, transport, peer string
		timeout                   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "listen --card FILE",
		Short: "Wait for one secured connection from `ferry debug dial`",
		Long: `Start the transport instance, prepare a responder session, and write a card
(JSON: this device's peer ID, the transport and its description) to FILE,
atomically. Then wait for a dialer, secure the stream with TLS 1.3 (ALPN
/ferry/debug/1, any peer ID accepted; the verified one is printed), exchange a
one-line greeting and exit 0. Exits non-zero on timeout or a failed handshake.

Give the card to the dialer (same machine: the same file). --peer names the
expected dialer for the transport's Prepare; when empty this device's own ID
is used as a placeholder (the tcp transport does not use it).`,
		Example: `  FERRY_HOME=/tmp/b FERRY_CONFIG=configs/loopback.yaml \
    ferry debug listen --card /tmp/card.json --timeout 30s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			s, err := a.openTransport(ctx, cmd, transport)
			if err != nil {
				return err
			}
			defer a.closeCatalog(s.cat)

			// PrepareRequest.Peer is required. Without --peer we do not know
			// the dialer yet, so our own ID stands in: the tcp transport
			// matches the connection by the session's token, not the peer.
			remote := s.id.ID
			if peer != "" {
				if remote, err = sdk.ParsePeerID(peer); err != nil {
					return fmt.Errorf("--peer: %w", err)
				}
			}
			prep, err := s.tr.Prepare(ctx, sdk.PrepareRequest{Peer: remote, Role: sdk.Responder})
			if err != nil {
				return err
			}
			c := card{
				Peer:        s.id.ID,
				Transport:   transport,
				Session:     prep.Session,
				Description: cardDescription{Transport: prep.Local.Transport, Data: prep.Local.Data},
			}
			if err := writeCard(cardPath, c); err != nil {
				return err
			}
			a.log.Info("card written; waiting for the dialer", "card", cardPath, "peer", s.id.ID)

			stream, err := s.tr.Connect(ctx, sdk.ConnectRequest{Session: prep.Session})
			if err != nil {
				return fmt.Errorf("wait for dialer: %w", err)
			}
			accept := func(sdk.PeerID) error { return nil } // debug: any peer; the proven ID is printed
			conn, err := secure.Server(ctx, stream, s.id, accept, []string{debugProtocol})
			if err != nil {
				return err
			}
			return greet(cmd.OutOrStdout(), conn, s.id, transport)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cardPath, "card", "", "file to write the card to (REQUIRED)")
	f.StringVar(&transport, "transport", "tcp", "transport instance to listen on")
	f.StringVar(&peer, "peer", "", "expected dialer's peer ID, for the transport (default: own ID as a placeholder)")
	f.DurationVar(&timeout, "timeout", 60*time.Second, "give up when no dialer has connected by then")
	_ = cmd.MarkFlagRequired("card")
	return cmd
}

func (a *app) debugDialCommand() *cobra.Command {
	var (
		cardPath, transport, expect string
		timeout                     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "dial --card FILE",
		Short: "Connect to `ferry debug listen` and verify its peer ID",
		Long: `Read the card written by "ferry debug listen", start the transport instance,
prepare an initiator session and connect with the card's description. Then
secure the stream with TLS 1.3 (ALPN /ferry/debug/1), requiring the listener
to prove the card's peer ID, or --expect's. On success print the verified
peer, exchange a one-line greeting and exit 0. A peer proving another ID is
refused: the command exits non-zero with an error naming both IDs (this is how
the demo shows that a wrong ID or a man in the middle is rejected).`,
		Example: `  FERRY_HOME=/tmp/a FERRY_CONFIG=configs/loopback.yaml \
    ferry debug dial --card /tmp/card.json
  ferry debug dial --card /tmp/card.json --expect "$(FERRY_HOME=/tmp/c ferry id)"   # fails`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			c, err := readCard(cardPath)
			if err != nil {
				return err
			}
			want := c.Peer
			if expect != "" {
				if want, err = sdk.ParsePeerID(expect); err != nil {
					return fmt.Errorf("--expect: %w", err)
				}
			}
			name := transport
			if name == "" {
				name = c.Transport
			}
			s, err := a.openTransport(ctx, cmd, name)
			if err != nil {
				return err
			}
			defer a.closeCatalog(s.cat)

			prep, err := s.tr.Prepare(ctx, sdk.PrepareRequest{Peer: c.Peer, Role: sdk.Initiator})
			if err != nil {
				return err
			}
			stream, err := s.tr.Connect(ctx, sdk.ConnectRequest{Session: prep.Session, Remote: c.Description.sdk()})
			if err != nil {
				return fmt.Errorf("connect to %s: %w", c.Peer.Short(), err)
			}
			conn, err := secure.Client(ctx, stream, s.id, want, []string{debugProtocol})
			if err != nil {
				return err
			}
			return greet(cmd.OutOrStdout(), conn, s.id, name)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cardPath, "card", "", "card file written by \"ferry debug listen\" (REQUIRED)")
	f.StringVar(&transport, "transport", "", "transport instance to dial with (default: the card's)")
	f.StringVar(&expect, "expect", "", "peer ID the listener must prove (default: the card's)")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "give up when not connected by then")
	_ = cmd.MarkFlagRequired("card")
	return cmd
}

// greet prints the verified peer, sends one line, reads the peer's line,
// then closes the connection gracefully.
func greet(out io.Writer, conn *secure.Conn, self *identity.Identity, transport string) error {
	defer conn.Close()
	st := conn.ConnectionState()
	fmt.Fprintf(out, "connected: verified peer %s over %s (%s, ALPN %s)\n",
		conn.Peer(), transport, tls.VersionName(st.Version), conn.Protocol())
	_ = conn.SetDeadline(time.Now().Add(greetingTimeout))
	if _, err := fmt.Fprintf(conn, "hello from %s\n", self.ID); err != nil {
		return fmt.Errorf("send greeting: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read greeting: %w", err)
	}
	fmt.Fprintf(out, "greeting: %s\n", strings.TrimSpace(line))
	// Half-close and drain, so that neither side resets the other.
	if err := conn.CloseWrite(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	_, _ = io.Copy(io.Discard, conn) // ends at the peer's close or the deadline
	return nil
}

func (a *app) debugSendCommand() *cobra.Command {
	var (
		to, protocol, id, tokenFile string
		findFor                     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "send PATH... --to PEER --token-file FILE",
		Short: "Send with a transfer token of your own, to test a receiver",
		Long: `Offer files like "ferry send", but once the receiver accepts, present the
token in FILE instead of the one the receiver issued (an empty file presents
none). The receiver must refuse a missing, forged, expired or foreign token
before writing anything; this command exits non-zero with its reason. It
does not retry and keeps no outbox record.`,
		Example: `  ferry debug send f.bin --to KXQ3Z7M --protocol jsonchunk --token-file forged.jwt`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, paths []string) error {
			ctx := cmd.Context()
			tok, err := os.ReadFile(tokenFile)
			if err != nil {
				return fmt.Errorf("--token-file: %w", err)
			}
			r := newRenderer(cmd.OutOrStdout(), cmd.ErrOrStderr(), true)
			s, err := a.startNode(ctx, cmd, r, node.Options{PeerTimeout: findFor})
			if err != nil {
				return err
			}
			defer a.closeSession(s)
			man, err := transfer.Scan(ctx, paths, nil)
			if err != nil {
				return err
			}
			peer, err := s.node.Resolve(ctx, to, findFor)
			if err != nil {
				return err
			}
			return s.node.Send(ctx, peer, man, node.SendOptions{
				TransferID: id, Protocol: protocol, RetryFor: time.Nanosecond,
				Token: func(string) string { return strings.TrimSpace(string(tok)) },
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&to, "to", "", "receiver (REQUIRED)")
	f.StringVar(&protocol, "protocol", "", "the only protocol to offer")
	f.StringVar(&id, "transfer-id", "", "transfer ID to use (32 hex digits; default: a new one)")
	f.StringVar(&tokenFile, "token-file", "", "file holding the token to present (REQUIRED; empty = none)")
	f.DurationVar(&findFor, "find-timeout", 10*time.Second, "how long to look for the peer")
	_ = cmd.MarkFlagRequired("to")
	_ = cmd.MarkFlagRequired("token-file")
	return cmd
}
