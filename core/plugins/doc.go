// Package plugins is the core's plugin host: the catalog of configured
// plugin instances (an external binary pinned by sha256, or an in-process
// factory for the same interface) and a supervisor per instance that starts
// it, configures it, notices when it exits and restarts it with backoff.
package plugins
