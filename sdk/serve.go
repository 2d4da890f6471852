package sdk

// Serve serves p as a Ferry plugin over go-plugin and returns when the host
// is gone. It must be the only thing main does.
func Serve(p Plugin) {
	serve(p)
}
