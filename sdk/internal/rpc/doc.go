// Package rpc holds the gRPC shims that carry the sdk interfaces across the
// plugin boundary, and the go-plugin glue both sides share. Plugin authors
// and the core never see them: a plugin calls serve.Plugin, the host calls
// host.Launch, and both then deal only in sdk interfaces.
//
// Plugin side: server.go serves Base, Transport, Discovery and Signaling;
// protocol_server.go serves Protocol, calling the host's services of each
// call through hostclient.go, whose progress reports progress.go throttles.
//
// Host side: client.go implements Plugin, Transport, Discovery and
// Signaling by calling the plugin; protocol_client.go implements Protocol
// and serves the call's host services from hostservice.go.
//
// Both sides: handshake.go (go-plugin handshake and glue), convert.go (sdk
// values to and from protobuf), errors.go (sdk sentinels in gRPC statuses),
// oneconn.go (gRPC over one data-channel stream).
package rpc
