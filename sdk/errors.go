package sdk

import "errors"

// ErrInvalidPeerID is returned when a peer ID cannot be parsed or fails its
// check characters.
var ErrInvalidPeerID = errors.New("invalid peer id")

// ErrNotFound is returned when a looked-up peer or session is not known.
var ErrNotFound = errors.New("not found")

// ErrUnsupported is returned when a plugin does not serve a role or an
// optional capability that was asked of it.
var ErrUnsupported = errors.New("unsupported")

// ErrInvalidConfig is returned by Configure when the configuration does not
// match the plugin's schema.
var ErrInvalidConfig = errors.New("invalid config")

// ErrInvalidDescription is returned by a transport when a remote description
// cannot be decoded or names nothing it can reach.
var ErrInvalidDescription = errors.New("invalid transport description")

// ErrPluginExited is returned by a host-side client when the plugin process
// is gone; the call may succeed again after the supervisor restarts it.
var ErrPluginExited = errors.New("plugin exited")

// ErrNotConfigured is returned when a call needs Configure to have run first.
var ErrNotConfigured = errors.New("plugin not configured")

// ErrClosed is returned for calls on a plugin or session that was closed.
var ErrClosed = errors.New("closed")

// ErrRefused is returned when the receiver refuses an offer.
var ErrRefused = errors.New("refused by receiver")

// ErrOffline is returned by a protocol when the peer went away before it
// answered a request: the stream broke or closed under the request (seed
// 000's EEE001, "peer offline").
var ErrOffline = errors.New("peer offline")

// ErrNotProcessed is returned by a protocol when the peer is connected but
// did not confirm that it processed a request, after every retry (seed 000's
// EEE002, "request not processed").
var ErrNotProcessed = errors.New("request not processed by peer")

// ErrHashMismatch is returned by [PartFile.Close] when a received file's
// SHA-256 is not the one the sender announced: the part file is discarded
// and no final file is made. A protocol that can tell which bytes differ
// (jsonchunk) names them in its own error.
var ErrHashMismatch = errors.New("sha-256 mismatch")

// ErrNoSpace is returned when the receiver's disk is full (ENOSPC while
// writing or committing a part file). The part file is kept: the transfer
// can resume once the receiver has room, so a sender waits rather than
// retrying at once.
var ErrNoSpace = errors.New("the receiver's disk is full")

// ErrSourceChanged is returned when a file being sent no longer matches
// what was offered (truncated, grown or rewritten during the send):
// resuming cannot fix it; the file must be sent again as a new transfer.
var ErrSourceChanged = errors.New("the source file changed while it was sent")
