// Package configs holds Ferry's example configurations. Two are embedded in
// the binary: the default LAN setup and its loopback-only twin used by tests
// and the demo.
package configs

import _ "embed"

// Default is ferry.yaml, the built-in configuration: every option with its
// default value and a comment saying what it does. core/config loads it as
// the lowest layer under the user's config file, FERRY_* variables and flags.
//
//go:embed ferry.yaml
var Default []byte

// Loopback is loopback.yaml: the default configuration with LAN discovery
// confined to the loopback interface and TCP listening on 127.0.0.1 only, so
// that nothing it makes Ferry send leaves the machine. Tests and the demo use
// it.
//
//go:embed loopback.yaml
var Loopback []byte
