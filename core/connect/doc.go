// Package connect holds the pieces of a connection to a peer that are not
// plugins: the consent messages of seed 003 (ASK, ACCEPT, REFUSE, sealed
// by core/seal and carried by a signaling plugin) and the connection states
// of the architecture (seed 002's session states), which core/node drives:
//
//	Discovering -> Resolving -> Signaling -> Connecting -> Securing -> Connected
//
// An ASK carries the transfer (ID, files with name, size, media type and
// SHA-256, time) and the transports and protocols the sender can use; the
// receiver's ACCEPT carries its choice of each and the transport's local
// description, so the sender can connect. Sizes are strings, as in the seed.
package connect
