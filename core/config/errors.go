package config

import (
	"errors"
	"strconv"
	"strings"

	"github.com/ferry-p2p/ferry/core/home"
)

// ErrInvalidLock is returned when a lock file cannot be parsed or holds an
// entry that is not a valid pin.
var ErrInvalidLock = errors.New("invalid lock file")

// ErrNoHome is returned by [ResolveHome] when neither FERRY_HOME nor the
// user's home folder is known.
var ErrNoHome = home.ErrNoHome

// ValidationError reports one problem with one configuration key. Several
// problems found in one load are joined with [errors.Join]; use [errors.As]
// to get at the first one.
type ValidationError struct {
	// File says where the offending value came from: a config file's path,
	// "embedded default", "environment variable FERRY_X" or "flag --x".
	File string
	// Line is the line in File, when known; 0 otherwise.
	Line int
	// Key is the full key path, such as "plugins.instances[0].sha256", or
	// "" for a problem with the file as a whole.
	Key string
	// Problem says what is wrong and what was expected.
	Problem string
	// Err is the underlying error, if any; Unwrap returns it.
	Err error
}

// Error formats the problem as "file:line: key: problem: err".
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Key != "" {
		b.WriteString(": ")
		b.WriteString(e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error, if any.
func (e *ValidationError) Unwrap() error { return e.Err }
