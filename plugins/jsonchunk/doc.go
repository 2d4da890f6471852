// Package jsonchunk is the jsonchunk protocol plugin.
package jsonchunk
