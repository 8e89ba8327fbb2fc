// Package store keeps the validator's history in SQLite: miners, challenge
// results, reported specs and allocations.
//
// [Open] gives any role a SQLite database set up for safe concurrent use (WAL
// journal, busy timeout, foreign keys, synchronous commits, write
// transactions that take the write lock up front) and applies the role's
// versioned [Migration]s, each in its own transaction, recorded in the
// schema_version table. [Validator] is the validator's store on top of it.
//
// Crash safety: every write is one transaction. A challenge round is written
// with [Validator.RecordRound] in a single transaction, so a process killed
// at any moment leaves either the whole round or none of it, and a round
// whose call returned is never lost.
//
// All methods are safe for concurrent use; SQLite serialises writers and the
// WAL journal lets readers run beside them.
package store
