// Package host is the host's side of the Ferry plugin SDK. It starts a
// plugin binary ([Launch]), or serves an implementation inside this process
// behind the same RPC shims ([ServeInProcess]), and returns a [Process]
// whose role accessors call the plugin through the sdk interfaces.
//
// Plugin authors do not need this package: the Ferry core, the conformance
// kit (sdk/plugintest) and benchmarks do.
package host
