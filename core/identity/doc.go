// Package identity holds this device's ed25519 key, from which its peer ID
// derives.
//
// # Key file
//
// The key lives in the file device.key of the directory the caller names
// (usually the Ferry state directory). It is a PEM block of type
// "PRIVATE KEY" holding the key in PKCS#8 form, the same format that
// "openssl genpkey -algorithm ed25519" writes. [LoadOrCreate] creates the
// file on first run with mode 0600 (and the directory with mode 0700). A key
// file that group or others may read or write is refused, not repaired: the
// key may already have leaked, so the user decides. A key file that cannot
// be parsed is an error and is never overwritten, since overwriting would
// silently give the device a new identity.
//
// # Peer IDs
//
// A peer ID ([sdk.PeerID]) is the device's 32-byte ed25519 public key itself,
// not a hash of it, so a peer's ID is enough to check its signatures and its
// TLS certificate (see package secure). The format is defined in the sdk
// package (sdk/peerid.go) and never changes; testdata/peerid-vectors.txt
// pins it.
//
// The printable form is computed as follows:
//
//  1. Encode the 32 key bytes in base32 (RFC 4648 alphabet A-Z, 2-7)
//     without padding: 52 characters.
//  2. Cut them into four groups of 13 characters and append to each group
//     one check character, giving 56 characters.
//  3. Show the result as eight dash-separated groups of 7 characters, for
//     example "AAAQEAY-EAUDAO5-CAJBIFQ-YDIOB4X-IBCEQTC-QKRMFYM-YDENBWH-A5DYPQS"
//     for the key 00 01 02 ... 1f.
//
// The check character of a group is the Luhn mod 32 check character over the
// base32 alphabet, as the algorithm is specified (unlike Syncthing's
// variant): let cp(c) be the index of c in the alphabet; walking the group
// from its rightmost character leftwards, multiply cp by 2 for the
// rightmost character and then alternately by 1 and 2; for each product p
// add p/32 + p%32 to a sum; the check character is the one at index
// (32 - sum%32) % 32. It catches any single changed character, and any swap
// of two adjacent characters within a group (check character included)
// except a swap of A and 7: code points 0 and 31 are the only ones whose
// doubled value reduces to itself (31*2 = 62 gives 1 + 30), as 0 and 9 are
// for decimal Luhn.
//
// Parsing ([sdk.ParsePeerID]) is forgiving in form and strict in content: it
// accepts any case, dashes, spaces or none, and the typos 0, 1 and 8 for O, I
// and B, but every check character must match. The zero ID is invalid.
package identity
