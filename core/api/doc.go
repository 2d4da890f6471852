// Package api is the local API of a running Ferry daemon: HTTP and JSON on
// a Unix socket in the Ferry home (mode 0600: the file's permissions are
// the authentication) and, when configured, on 127.0.0.1 with an API key
// or a browser session (Syncthing's model: X-API-Key header, session
// cookie with a CSRF token, Host header checked against DNS rebinding).
//
// It serves identity, peers, sending (paths or a browser upload), pending
// offers with accept and refuse, transfers with pause, resume and cancel,
// config reload, plugins, a Server-Sent Events stream of the node's
// events (the same JSON objects `ferry ... --json` prints), and the web
// page. The daemon is a [Backend]; [Offers] is the Decider it gives the
// node so that offers wait for an answer from the API; [Client] is what
// the CLI and other programs use on the socket. openapi.yaml documents
// every route, and a test holds it to the server's route table.
package api
