// Package node is the orchestrator of one Ferry device: it starts the
// configured plugins, announces the device, keeps the table of peers that
// discovery reports, opens sealed signaling messages, and runs transfers
// through the connection states of core/connect: the sender's side
// (Send) and the receiver's side (Serve), with consent, resume and
// progress events. [Outgoing] keeps unfinished outgoing transfers in an
// outbox and resumes them, by hand or when their peer comes back.
package node
