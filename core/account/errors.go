package account

import "errors"

// Errors of the account checks. Each refusal wraps one of them, and its
// message says what was wrong (which account, which device, which date).
var (
	// ErrInvalidID is returned when an account ID cannot be parsed.
	ErrInvalidID = errors.New("invalid account id")
	// ErrMalformed is returned when an encoded certificate, revocation
	// list, credentials bundle or account record does not follow the
	// format.
	ErrMalformed = errors.New("malformed account data")
	// ErrForged is returned when a signature does not verify with the
	// account key it names.
	ErrForged = errors.New("forged account signature")
	// ErrOtherAccount is returned when a certificate or list is signed by
	// another account than the one expected.
	ErrOtherAccount = errors.New("signed by another account")
	// ErrExpired is returned when a device certificate has expired; the
	// message gives the expiry date.
	ErrExpired = errors.New("device certificate expired")
	// ErrNotYetValid is returned when a certificate's issue time lies
	// further in the future than the allowed clock skew.
	ErrNotYetValid = errors.New("device certificate not yet valid")
	// ErrRevoked is returned when a device is named by its account's
	// revocation list.
	ErrRevoked = errors.New("device revoked by its account")
	// ErrWrongDevice is returned when a certificate is presented by
	// another device than the one it certifies.
	ErrWrongDevice = errors.New("certificate of another device")
	// ErrNoAccount is returned when the Ferry home holds no account (no
	// certificate, or no account key where one is needed).
	ErrNoAccount = errors.New("no account")
	// ErrInsecureKeyFile is returned when the account key file may be read
	// or written by group or others.
	ErrInsecureKeyFile = errors.New("account key file is accessible by group or others")
)
