// Package token issues and checks transfer tokens: the authorisation a
// receiver gives a sender when it accepts a transfer (seed 004's
// AUTHENTICATION "token"), so that any later connection, over any
// transport, may resume the transfer without asking the user again.
//
// A token is a JWT (RFC 7519) signed with EdDSA (RFC 8037) by the
// receiving device's ed25519 key. Its claims:
//
//	iss    the receiver's peer ID (the signer)
//	sub    the sender's peer ID (the only peer that may present it)
//	fid    the transfer ID
//	files  the files accepted: name, size and SHA-256 (hex)
//	iat    when it was issued
//	exp    when it stops being accepted
//
// [Check] refuses a token that is missing, does not parse, is not EdDSA,
// is not signed by this device, has expired, was issued to another peer,
// names another transfer, or does not list a file the connection offers;
// each refusal wraps [ErrBadToken] and says which.
package token
