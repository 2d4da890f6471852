// Package account holds Ferry's accounts: a person, not a device. An account
// is an ed25519 key; it certifies each of its devices (a [Certificate]
// over the device's peer ID, name, issue time and expiry) and keeps a
// signed, versioned list of the devices it revoked ([Revocations]).
//
// # Keys and where they live
//
// The account key lives only on the device that ran "ferry account
// create", in $FERRY_HOME/account/account.key (PEM PKCS#8, mode 0600;
// a file that group or others may read is refused). Other devices hold
// only their certificate (account/device.cert) and never the account key:
// a stolen phone can be revoked, and cannot certify new devices or revoke
// the others. Jami copies the account key to every linked device instead;
// Ferry trades that convenience (any device can link a new one) for a
// smaller loss when a device is lost. Linking a device
// ([Certificate] issued over a PAKE-protected exchange, see
// cmd/ferry-node/account_link.go) therefore needs the key holder online.
//
// # Account IDs
//
// An account ID ([ID]) is the account's public key, printed as "acct-"
// followed by the checked, grouped form of a peer ID. Device IDs are upper
// case and never start with "acct-", so the two are told apart at a glance
// and neither parser accepts the other.
//
// # Checks
//
// A device's credentials ([Credentials]: its certificate and the newest
// revocation list it knows of its account) travel in discovery as opaque
// bytes; the core checks them ([Credentials.Verify], [Book.Observe]): a
// certificate must be signed by the account it names ([ErrForged]),
// presented by the device it certifies ([ErrWrongDevice]) and not expired
// ([ErrExpired], naming the expiry date); where an account is expected, a
// certificate of another account is refused ([ErrOtherAccount]); a device a
// known revocation list names is refused as sender and as receiver
// ([ErrRevoked]). A newer list (higher version) replaces an older one, so
// revocations spread with every announcement of any device of the account
// and are kept in account/known/ across restarts.
package account
