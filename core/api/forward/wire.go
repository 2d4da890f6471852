package forward

// Version is the version of the wire, in every request: a daemon refuses
// a request of a version it does not speak, and the front then runs the
// command itself.
const Version = 1

// Request is a command line to run in the daemon: the first line the front
// writes on the connection.
type Request struct {
	// V is the wire's [Version].
	V int `json:"v"`
	// Args are the arguments after the program name, as typed.
	Args []string `json:"args"`
	// Dir is the front's working folder: relative paths in Args are
	// taken from it.
	Dir string `json:"dir"`
	// Env is the front's environment, as "KEY=value" strings.
	Env []string `json:"env"`
	// Stdout and Stderr say what the front's output streams are.
	Stdout Terminal `json:"stdout"`
	Stderr Terminal `json:"stderr"`
}

// Terminal says whether an output stream is a terminal, and its size when
// it is one (progress bars are drawn to fit).
type Terminal struct {
	TTY    bool `json:"tty"`
	Width  int  `json:"width,omitempty"`
	Height int  `json:"height,omitempty"`
}

// Control is a line the front writes after its request, while the command
// runs.
type Control struct {
	// Interrupt asks for the command to be interrupted, as Ctrl-C (SIGINT)
	// interrupts a command in a process of its own: its context is
	// cancelled, and what it prints then still reaches the front.
	Interrupt bool `json:"interrupt,omitempty"`
}

// Frame is one line the daemon writes. Exactly one field is set: Stdout or
// Stderr (output, in the order written), Refused (the daemon does not run
// this request: the front runs the command itself), or Exit (the last
// frame). A connection that ends without an Exit or Refused frame means
// the daemon went away.
type Frame struct {
	Stdout  []byte `json:"stdout,omitempty"`
	Stderr  []byte `json:"stderr,omitempty"`
	Refused string `json:"refused,omitempty"`
	Exit    *int   `json:"exit,omitempty"`
}
