// Package transfer holds the two ends of a file transfer that do not depend
// on the protocol: the sender's file list and the source protocols read it
// from, and the receiver's inbox that protocols write into.
//
// # Sending
//
// [Scan] turns the paths a user names into a [Manifest]: one [LocalFile] per
// regular file, with its wire name (a file's base name, or "folder/rel/path"
// for the files under a folder), size, modification time, media type and
// SHA-256. Symbolic links and special files are not followed; they are
// listed in Manifest.Skipped. [Manifest.Offer] makes the [sdk.Offer] under a
// transfer ID from [NewID], and [Manifest.Source] the [sdk.FileSource]
// protocols read from; it hands out *os.File values, so the SDK can pass
// their descriptors to a protocol plugin, and refuses a file that changed
// since the scan.
//
// # Receiving
//
// An [Inbox] owns two folders: the receive folder, where files arrive, and
// a state folder, where accepted transfers are recorded. Every file
// operation on either goes through an [os.Root], so no name from the wire
// and no symbolic link planted in a folder can reach outside it.
//
// Names from the wire are untrusted. [SanitizeName] refuses, rather than
// repairs, every name that is not a plain relative path: absolute paths,
// "..", backslashes, control characters, Windows device names and so on.
//
// [Inbox.Accept] checks an offer and records it (record.json in the
// transfer's state folder, fsynced and written atomically) before any byte
// arrives; the [Incoming] it returns, also found again after a restart with
// [Inbox.Find], hands out one [Part] per file with [Incoming.Create].
//
// A part file lives beside its destination, as
// "<folder>/.<name>.<id[:8]>.<index>.ferry-part" (mode 0600), so that
// moving it into place never crosses file systems. Its journal, in the
// state folder, is the set of committed byte ranges. [Part.Commit] fsyncs
// the part file, then appends the range to the journal and fsyncs that,
// before it returns and the protocol acknowledges the bytes: a crash at any
// point loses at most unacknowledged bytes. Journal records are framed with
// a length and a CRC-32C, so a record torn by a crash is recognised and
// ignored; a reopened journal is compacted to one record per range (and
// the last SHA-256 state, see below).
//
// [Part.Close] with complete set checks that every byte is committed and
// that the file's SHA-256 is the one the sender announced (a mismatch
// deletes the part: it never produces a final file), then moves the file
// into place without replacing anything: it hard-links the part file to
// the file's name, or "name (1).ext", "name (2).ext" and so on if taken,
// fsyncs the folder, records the file done (an fsynced append to the
// transfer's done.log), and only then removes the part name and the
// journal. A crash between the link and the record leaves both names of
// one file; the retried Close recognises its own link and does not make a
// second copy.
//
// The SHA-256 is computed as the committed prefix grows: Commit reads the
// newly contiguous bytes back, from the page cache, so Close does not have
// to read the whole file again. The commit also saves the SHA-256 state in
// the journal (from 1 MiB of prefix on), so a part reopened after a crash
// or a cut takes it up and never reads its committed prefix back; without
// a usable saved state (an old journal, a damaged one) it hashes the
// prefix once, at its first Commit or at Close. This relies on the
// PartFile contract that committed bytes are not written again.
package transfer
