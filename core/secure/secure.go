package secure

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/ferry-p2p/ferry/core/identity"
	"github.com/ferry-p2p/ferry/sdk"
)

// alertNoApplicationProtocol is the TLS alert a server sends when it
// supports none of the client's ALPN protocols (RFC 7301).
const alertNoApplicationProtocol tls.AlertError = 120

// Client secures s as the TLS client, for the device id, and returns the
// secured stream once the peer has proven that it is expect. It offers
// protocols in ALPN, in order of preference; at least one is required.
//
// The handshake ends when ctx does. On any error s is closed. A peer that
// proves another ID gives a [*PeerMismatchError], one that proves our own ID
// gives [ErrSelfConnect], and a peer that supports none of protocols gives
// [ErrNoProtocol].
//
// In TLS 1.3 the client's handshake ends before the server has checked the
// client, so a server that refuses us shows as an error on the first Read,
// not here.
func Client(ctx context.Context, s sdk.Stream, id *identity.Identity, expect sdk.PeerID, protocols []string) (*Conn, error) {
	c, err := client(ctx, s, id, expect, protocols)
	if err != nil {
		closeStream(s)
		return nil, fmt.Errorf("secure: handshake with %s: %w", expect.Short(), err)
	}
	return c, nil
}

func client(ctx context.Context, s sdk.Stream, id *identity.Identity, expect sdk.PeerID, protocols []string) (*Conn, error) {
	if err := checkArgs(s, id, protocols); err != nil {
		return nil, err
	}
	if expect.IsZero() {
		return nil, fmt.Errorf("expected peer id not set: %w", sdk.ErrInvalidPeerID)
	}
	if expect.Equal(id.ID) {
		return nil, fmt.Errorf("%w: asked to expect our own id %s", ErrSelfConnect, expect)
	}
	cfg, err := newConfig(id, protocols)
	if err != nil {
		return nil, err
	}
	var peer sdk.PeerID
	// There is no certificate authority: VerifyConnection does all checks.
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		p, err := peerFromCertificates(cs.PeerCertificates, id.ID)
		if err != nil {
			return err
		}
		if !p.Equal(expect) {
			return &PeerMismatchError{Expected: expect, Actual: p}
		}
		if cs.NegotiatedProtocol == "" {
			return fmt.Errorf("%w: we offer %q, the peer chose none", ErrNoProtocol, protocols)
		}
		peer = p
		return nil
	}
	pb := &pushback{Stream: s}
	tc := tls.Client(&tlsRecords{pushback: pb}, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		if isRemoteAlert(err, alertNoApplicationProtocol) {
			return nil, fmt.Errorf("%w: we offer %q, the peer supports none of them: %w", ErrNoProtocol, protocols, err)
		}
		return nil, err
	}
	return newConn(s, pb, tc, peer, true)
}

// Server secures s as the TLS server, for the device id, and returns the
// secured stream once the peer has proven its ID. Of the protocols the
// client offers in ALPN it picks the first that is in protocols; at least
// one is required.
//
// accept, if not nil, decides whether to talk to the peer: an error from it
// refuses the peer with a TLS alert, and Server returns an error wrapping
// both [ErrPeerRefused] and accept's error. A nil accept accepts any peer
// but ourselves. accept runs during the handshake, when the peer has shown
// its certificate but not yet proven that it holds the key (TLS 1.3 checks
// that proof next), so accept must only decide: anything it acts on, such as
// "peer X connected", belongs after Server returns, whose [Conn.Peer] is
// proven.
//
// The handshake ends when ctx does. On any error s is closed. A peer that
// presents our own ID gives [ErrSelfConnect], and one that offers none of
// protocols gives [ErrNoProtocol].
func Server(ctx context.Context, s sdk.Stream, id *identity.Identity, accept func(sdk.PeerID) error, protocols []string) (*Conn, error) {
	c, err := server(ctx, s, id, accept, protocols)
	if err != nil {
		closeStream(s)
		return nil, fmt.Errorf("secure: handshake from %s: %w", remoteAddr(s), err)
	}
	return c, nil
}

func server(ctx context.Context, s sdk.Stream, id *identity.Identity, accept func(sdk.PeerID) error, protocols []string) (*Conn, error) {
	if err := checkArgs(s, id, protocols); err != nil {
		return nil, err
	}
	cfg, err := newConfig(id, protocols)
	if err != nil {
		return nil, err
	}
	var (
		peer    sdk.PeerID
		offered []string
	)
	// The chain is not verified (there is no certificate authority), only
	// required: VerifyConnection does all checks.
	cfg.ClientAuth = tls.RequireAnyClientCert
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		offered = slices.Clone(hello.SupportedProtos) // for the error message
		return nil, nil
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		p, err := peerFromCertificates(cs.PeerCertificates, id.ID)
		if err != nil {
			return err
		}
		if cs.NegotiatedProtocol == "" {
			return noCommonProtocol(protocols, offered)
		}
		if accept != nil {
			if err := accept(p); err != nil {
				return fmt.Errorf("%w: %s: %w", ErrPeerRefused, p, err)
			}
		}
		peer = p
		return nil
	}
	pb := &pushback{Stream: s}
	tc := tls.Server(&tlsRecords{pushback: pb}, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		if len(offered) > 0 && !hasCommon(protocols, offered) {
			return nil, noCommonProtocol(protocols, offered)
		}
		return nil, err
	}
	return newConn(s, pb, tc, peer, false)
}

// newConfig returns the TLS configuration both sides share.
func newConfig(id *identity.Identity, protocols []string) (*tls.Config, error) {
	cert, err := newCertificate(id)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		// The client sends its certificate whatever the server asks for.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &cert, nil
		},
		MinVersion:             tls.VersionTLS13,
		MaxVersion:             tls.VersionTLS13,
		NextProtos:             slices.Clone(protocols),
		SessionTicketsDisabled: true,
	}, nil
}

func checkArgs(s sdk.Stream, id *identity.Identity, protocols []string) error {
	if s == nil {
		return errors.New("nil stream")
	}
	if id == nil {
		return errors.New("nil identity")
	}
	key := id.PrivateKey()
	if len(key) != ed25519.PrivateKeySize {
		return errors.New("identity has no private key")
	}
	if !id.ID.PublicKey().Equal(key.Public()) {
		return fmt.Errorf("identity id %s does not match its key", id.ID)
	}
	if len(protocols) == 0 {
		return fmt.Errorf("%w: no protocol id given", ErrNoProtocol)
	}
	for _, p := range protocols {
		if len(p) == 0 || len(p) > 255 {
			return fmt.Errorf("protocol id %q: length must be 1 to 255 bytes", p)
		}
	}
	return nil
}

func noCommonProtocol(ours, theirs []string) error {
	return fmt.Errorf("%w: we support %q, the peer offered %q", ErrNoProtocol, ours, theirs)
}

func hasCommon(a, b []string) bool {
	return slices.ContainsFunc(a, func(p string) bool { return slices.Contains(b, p) })
}

// isRemoteAlert reports whether err is the alert a sent by the peer.
func isRemoteAlert(err error, a tls.AlertError) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error" && op.Err != nil && op.Err.Error() == a.Error()
}

func closeStream(s sdk.Stream) {
	if s != nil {
		_ = s.Close()
	}
}

func remoteAddr(s sdk.Stream) string {
	if s == nil {
		return "<nil stream>"
	}
	if a := s.RemoteAddr(); a != nil {
		return a.String()
	}
	return "<unknown>"
}
