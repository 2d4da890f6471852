package forward

import "strings"

// Commands are the commands that run in the daemon when one runs: each
// only talks to it through its API when a daemon runs (cmd/ferry-node), so
// running it there does what the full program would do in a process of
// its own. A command is a path of words: "config reload" is forwarded,
// "config check" is not.
var Commands = [][]string{
	{"send"}, {"status"}, {"peers"}, {"accept"}, {"refuse"}, {"resume"}, {"cancel"}, {"config", "reload"},
}

// globalValueFlags are the root command's flags that take a value (the
// next argument, unless written --flag=value).
var globalValueFlags = map[string]bool{"--config": true, "--log-level": true}

// Forwardable reports whether the command line args (after the program
// name) names one of [Commands]. Anything it does not understand before
// the command words (an unknown flag, --help) is left to the full program.
// The front forwards only such command lines, and the daemon runs no
// other.
func Forwardable(args []string) bool {
	var words []string
	for i := 0; i < len(args) && len(words) < 2; i++ {
		a := args[i]
		switch {
		case a == "--":
			return false
		case strings.HasPrefix(a, "-"):
			if len(words) > 0 {
				// A flag of the command itself: the command is known.
				i = len(args)
				continue
			}
			name, _, hasValue := strings.Cut(a, "=")
			if !globalValueFlags[name] {
				return false
			}
			if !hasValue {
				i++ // its value
			}
		default:
			words = append(words, a)
		}
	}
	for _, f := range Commands {
		if len(words) >= len(f) && equal(words[:len(f)], f) {
			return true
		}
	}
	return false
}

func equal(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}
