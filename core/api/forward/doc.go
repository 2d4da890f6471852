// Package forward runs a ferry command line inside the running daemon.
//
// Starting the full ferry program costs about 50 ms before main runs (the
// package initialisation of libp2p, pion, gRPC and protobuf, which it links
// for its plugins' in-process twins). A command that only talks to the
// daemon (send, status, peers, accept, refuse, resume, cancel, config
// reload) does not need any of that, so the small ferry front (cmd/ferry)
// sends its command line, working folder, environment and terminal facts
// over the daemon's Unix socket instead, and the daemon runs the same
// command, in the same code, writing its standard output and standard
// error back as a stream of frames that ends with the exit status. Without
// a daemon the front executes the full program (ferry-node) in its place.
//
// This package imports only the standard library and core/home: the front
// links it and must start in a few milliseconds.
//
// The wire is a Unix socket of its own in the Ferry home,
// [home.CLISocketName] (mode 0600, beside the API's), carrying JSON lines:
// the front writes its [Request], then a [Control] line for each Ctrl-C;
// the daemon writes [Frame]s, output as the command writes it and the exit
// status last. It is not the HTTP API: the front would pay for net/http's
// start (about 4 ms here) on every command, and a session that both sides
// write to while it runs is one connection this way.
package forward
