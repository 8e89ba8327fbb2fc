package devchain

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/reveal"
	"github.com/sn27/compute/internal/scale"
	"github.com/sn27/compute/internal/tlock"
	"github.com/sn27/compute/internal/wallet"
)

// Timelocked commit limits, as subtensor's.
const (
	// MaxTimelockedCommitBytes is MAX_CRV3_COMMIT_SIZE_BYTES.
	MaxTimelockedCommitBytes = 5000
	// MaxUnrevealedCommits is how many commits one hotkey may have waiting
	// under one commit epoch of a subnet.
	MaxUnrevealedCommits = 10
	// keepEvents bounds the events table.
	keepEvents = 10_000
)

// Event kinds.
const (
	EventWeightsCommitted = "timelocked_weights_committed"
	EventWeightsRevealed  = "timelocked_weights_revealed"
	EventCommitDropped    = "timelocked_commit_dropped"
	EventCommitExpired    = "timelocked_commit_expired"
	// EventEpochFailed: a subnet's reveal or epoch failed at a block; its
	// writes were undone and the epoch skipped (detail says why).
	EventEpochFailed = "epoch_failed"
)

// Event is something the chain did on its own (a reveal, a dropped commit),
// kept for inspection like a substrate chain's events.
type Event struct {
	ID     uint64 `json:"id"`
	Block  uint64 `json:"block"`
	Netuid uint16 `json:"netuid"`
	Kind   string `json:"kind"`
	Hotkey string `json:"hotkey,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// CommitTimelockedArgs are commit_timelocked_weights' arguments: a tlock
// ciphertext of a reveal.Payload to the beacon's RevealRound.
type CommitTimelockedArgs struct {
	Netuid              uint16 `json:"netuid"`
	Commit              []byte `json:"commit"` // base64 in JSON
	RevealRound         uint64 `json:"reveal_round"`
	CommitRevealVersion uint16 `json:"commit_reveal_version"`
}

// commitTimelocked stores a timelocked commit. As on finney, where a call
// prepared at head H lands in block H+1, the commit is treated as included
// in the next block: its rate limit, commit block, last update and epoch are
// those of block H+1, which it returns.
func (s *callState) commitTimelocked(a CommitTimelockedArgs) (uint64, error) {
	if len(a.Commit) > MaxTimelockedCommitBytes {
		return 0, fmt.Errorf("%w: args.commit: %d bytes, at most %d", chain.ErrCommitTooLarge, len(a.Commit), MaxTimelockedCommitBytes)
	}
	p, err := loadParams(s.ctx, s.tx, a.Netuid)
	if err != nil {
		return 0, err
	}
	if !p.CommitRevealEnabled {
		return 0, fmt.Errorf("%w: netuid %d", chain.ErrCommitRevealDisabled, a.Netuid)
	}
	if a.CommitRevealVersion != p.CommitRevealVersion {
		return 0, fmt.Errorf("%w: got %d, netuid %d accepts %d", chain.ErrIncorrectCommitRevealVersion, a.CommitRevealVersion, a.Netuid, p.CommitRevealVersion)
	}
	uid, _, lastUpdate, _, err := s.neuron(a.Netuid)
	if err != nil {
		return 0, err
	}
	included := s.block + 1
	if lastUpdate != 0 && since(included, lastUpdate) < p.WeightsRateLimit {
		return 0, fmt.Errorf("%w: weights committed at block %d, the next commit may land at block %d (head %d)",
			chain.ErrRateLimited, lastUpdate, lastUpdate+p.WeightsRateLimit, lastUpdate+p.WeightsRateLimit-1)
	}
	sched, err := loadSchedule(s.ctx, s.tx, a.Netuid)
	if err != nil {
		return 0, err
	}
	epoch := sched.EpochAt(included, p.Tempo, a.Netuid)
	var n int
	if err := s.tx.QueryRowContext(s.ctx, `SELECT COUNT(*) FROM timelocked_commits WHERE netuid = ? AND hotkey = ? AND commit_epoch = ?`,
		a.Netuid, s.signer, epoch).Scan(&n); err != nil {
		return 0, fmt.Errorf("dev chain state: %w", err)
	}
	if n >= MaxUnrevealedCommits {
		return 0, fmt.Errorf("%w: %s has %d commits waiting in epoch %d of netuid %d", chain.ErrTooManyUnrevealedCommits, s.signer, n, epoch, a.Netuid)
	}
	ct := a.Commit
	if ct == nil {
		ct = []byte{}
	}
	if err := s.exec(`INSERT INTO timelocked_commits (netuid, hotkey, commit_epoch, commit_block, reveal_round, ciphertext) VALUES (?, ?, ?, ?, ?, ?)`,
		a.Netuid, s.signer, epoch, included, a.RevealRound, ct); err != nil {
		return 0, err
	}
	if err := s.exec(`UPDATE neurons SET last_update = ? WHERE netuid = ? AND uid = ?`, included, a.Netuid, uid); err != nil {
		return 0, err
	}
	detail := fmt.Sprintf("uid %d, %d bytes, epoch %d, reveal round %d", uid, len(ct), epoch, a.RevealRound)
	if err := s.c.event(s.ctx, s.tx, included, a.Netuid, EventWeightsCommitted, s.signer, detail); err != nil {
		return 0, err
	}
	return included, nil
}

// pendingCommit is one stored commit.
type pendingCommit struct {
	id          int64
	hotkey      string
	block       uint64
	revealRound uint64
	ciphertext  []byte
}

// revealCommits is subtensor's reveal step for one subnet at block, run
// before the block's epoch: epoch is the look-ahead epoch index of block.
// Commits filed before epoch - RevealPeriodEpochs have expired and are
// dropped; those filed in that epoch are revealed when their round's pulse is
// stored (and retried at every block of the reveal epoch otherwise). A
// commit that does not decrypt, decode, match its committer or pass the
// weights rules is dropped with an event; only a state error fails the block.
func (c *Chain) revealCommits(ctx context.Context, tx *sql.Tx, block uint64, netuid uint16, p Params, epoch uint64) error {
	revealEpoch := epoch - min(epoch, p.RevealPeriodEpochs)
	expired, err := pendingCommits(ctx, tx, `netuid = ? AND commit_epoch < ?`, netuid, revealEpoch)
	if err != nil {
		return err
	}
	for _, cm := range expired {
		detail := fmt.Sprintf("committed at block %d, the pulse of round %d was not stored during its reveal epoch", cm.block, cm.revealRound)
		if err := c.dropCommit(ctx, tx, block, netuid, cm, EventCommitExpired, detail); err != nil {
			return err
		}
	}
	if epoch < p.RevealPeriodEpochs {
		return nil
	}
	due, err := pendingCommits(ctx, tx, `netuid = ? AND commit_epoch = ?`, netuid, revealEpoch)
	if err != nil {
		return err
	}
	for _, cm := range due {
		var sig []byte
		err := tx.QueryRowContext(ctx, `SELECT signature FROM pulses WHERE round = ?`, cm.revealRound).Scan(&sig)
		if errors.Is(err, sql.ErrNoRows) {
			continue // retried at the next block of the reveal epoch
		}
		if err != nil {
			return fmt.Errorf("read pulse %d: %w", cm.revealRound, err)
		}
		if err := c.revealOne(ctx, tx, block, netuid, cm, sig); err != nil {
			return err
		}
	}
	return nil
}

func pendingCommits(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]pendingCommit, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, hotkey, commit_block, reveal_round, ciphertext FROM timelocked_commits WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read timelocked commits: %w", err)
	}
	defer rows.Close()
	var out []pendingCommit
	for rows.Next() {
		var cm pendingCommit
		if err := rows.Scan(&cm.id, &cm.hotkey, &cm.block, &cm.revealRound, &cm.ciphertext); err != nil {
			return nil, fmt.Errorf("read timelocked commits: %w", err)
		}
		out = append(out, cm)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read timelocked commits: %w", err)
	}
	return out, nil
}

func (c *Chain) dropCommit(ctx context.Context, tx *sql.Tx, block uint64, netuid uint16, cm pendingCommit, kind, detail string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM timelocked_commits WHERE id = ?`, cm.id); err != nil {
		return fmt.Errorf("remove timelocked commit: %w", err)
	}
	return c.event(ctx, tx, block, netuid, kind, cm.hotkey, detail)
}

// revealOne decrypts one due commit with its round's signature and applies
// it as a set_weights of the committer, or drops it.
func (c *Chain) revealOne(ctx context.Context, tx *sql.Tx, block uint64, netuid uint16, cm pendingCommit, sig []byte) error {
	drop := func(format string, args ...any) error {
		return c.dropCommit(ctx, tx, block, netuid, cm, EventCommitDropped, fmt.Sprintf(format, args...))
	}
	plain, err := tlock.Decrypt(sig, cm.ciphertext)
	if err != nil {
		return drop("committed at block %d, does not decrypt with round %d: %v", cm.block, cm.revealRound, err)
	}
	args := SetWeightsArgs{Netuid: netuid}
	if pl, err := reveal.DecodePayload(plain); err == nil {
		pub, err := wallet.PublicKeyFromSS58(cm.hotkey)
		if err != nil || pl.Hotkey != pub {
			named, _ := wallet.SS58Encode(pl.Hotkey[:], wallet.DefaultSS58Prefix)
			return drop("committed at block %d, the payload names hotkey %s, not the committer", cm.block, named)
		}
		args.UIDs, args.Weights, args.VersionKey = pl.UIDs, pl.Values, pl.VersionKey
	} else if uids, values, version, lerr := decodeLegacyPayload(plain); lerr == nil {
		// The payload of commit-reveal v3 (no hotkey), which subtensor still accepts.
		args.UIDs, args.Weights, args.VersionKey = uids, values, version
	} else {
		return drop("committed at block %d, the decrypted payload does not decode: %v", cm.block, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM timelocked_commits WHERE id = ?`, cm.id); err != nil {
		return fmt.Errorf("remove timelocked commit: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT reveal`); err != nil {
		return fmt.Errorf("dev chain state: %w", err)
	}
	s := &callState{ctx: ctx, tx: tx, c: c, signer: cm.hotkey, block: block}
	p, err := loadParams(ctx, tx, netuid)
	if err == nil {
		err = s.applyWeights(args, p)
	}
	if err != nil {
		if _, rbErr := tx.ExecContext(ctx, `ROLLBACK TO reveal`); rbErr != nil {
			return errors.Join(err, rbErr)
		}
		if !refusal(err) {
			return err
		}
		return c.event(ctx, tx, block, netuid, EventCommitDropped, cm.hotkey,
			fmt.Sprintf("committed at block %d, the revealed weights are refused: %v", cm.block, err))
	}
	if _, err := tx.ExecContext(ctx, `RELEASE reveal`); err != nil {
		return fmt.Errorf("dev chain state: %w", err)
	}
	return c.event(ctx, tx, block, netuid, EventWeightsRevealed, cm.hotkey,
		fmt.Sprintf("committed at block %d, round %d, %d weights, version key %d", cm.block, cm.revealRound, len(args.UIDs), args.VersionKey))
}

// refusal reports whether err is a call being refused (a rule), as opposed
// to a state error.
func refusal(err error) bool {
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return true
		}
	}
	return false
}

// decodeLegacyPayload reads commit-reveal v3's payload: uids Vec<u16>,
// values Vec<u16>, version_key u64 (bytes may follow, as SCALE's Decode allows).
func decodeLegacyPayload(b []byte) (uids, values []uint16, version uint64, err error) {
	d := scale.NewDecoder(b)
	read := func() []uint16 {
		n := d.Len(2)
		if d.Err() != nil {
			return nil
		}
		v := make([]uint16, n)
		for i := range v {
			v[i] = d.U16()
		}
		return v
	}
	uids = read()
	values = read()
	version = d.U64()
	if d.Err() != nil {
		return nil, nil, 0, d.Err()
	}
	return uids, values, version, nil
}

// event records an event and logs it.
func (c *Chain) event(ctx context.Context, tx *sql.Tx, block uint64, netuid uint16, kind, hotkey, detail string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO events (block, netuid, kind, hotkey, detail) VALUES (?, ?, ?, ?, ?)`,
		block, netuid, kind, hotkey, detail); err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	level := slog.LevelInfo
	switch kind {
	case EventCommitDropped, EventCommitExpired:
		level = slog.LevelWarn
	case EventEpochFailed:
		level = slog.LevelError
	}
	c.log.Log(ctx, level, kind, "block", block, "netuid", netuid, "hotkey", hotkey, "detail", detail)
	return nil
}

func pruneEvents(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?`, keepEvents); err != nil {
		return fmt.Errorf("prune events: %w", err)
	}
	return nil
}

// EventQuery selects events: those of Netuid (of every subnet with
// AllSubnets) with an id above After, at most Limit of them (1..1000, 1000
// when 0), oldest first.
type EventQuery struct {
	Netuid     uint16
	AllSubnets bool
	After      uint64
	Limit      int
}

// MaxEvents bounds one events read.
const MaxEvents = 1000

// Events returns the events q selects.
func (c *Chain) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	if q.Limit <= 0 || q.Limit > MaxEvents {
		q.Limit = MaxEvents
	}
	rows, err := c.db.QueryContext(ctx, `SELECT id, block, netuid, kind, hotkey, detail FROM events
		WHERE id > ? AND (? OR netuid = ?) ORDER BY id LIMIT ?`, q.After, q.AllSubnets, q.Netuid, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.Block, &e.Netuid, &e.Kind, &e.Hotkey, &e.Detail); err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return out, nil
}

// WeightsInfo reads, at one block, how hotkey must send weights on netuid.
func (c *Chain) WeightsInfo(ctx context.Context, netuid uint16, hotkey string) (*chain.WeightsInfo, error) {
	var info *chain.WeightsInfo
	err := inTx(ctx, c.db, func(tx *sql.Tx) error {
		p, err := loadParams(ctx, tx, netuid)
		if err != nil {
			return err
		}
		sched, err := loadSchedule(ctx, tx, netuid)
		if err != nil {
			return err
		}
		info = &chain.WeightsInfo{
			Netuid: netuid, BlockTime: c.blockTime, Tempo: p.Tempo, RateLimit: p.WeightsRateLimit,
			CommitReveal: p.CommitRevealEnabled, CommitRevealVersion: p.CommitRevealVersion,
			RevealPeriodEpochs: p.RevealPeriodEpochs, Schedule: sched, Beacon: c.beaconCopy(),
		}
		if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'block'`).Scan(&info.Block); err != nil {
			return fmt.Errorf("read block: %w", err)
		}
		err = tx.QueryRowContext(ctx, `SELECT last_update FROM neurons WHERE netuid = ? AND hotkey = ?`, netuid, hotkey).Scan(&info.LastUpdate)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read last update of %s: %w", hotkey, err)
		}
		return nil
	})
	return info, err
}

// TimelockedCommits lists hotkey's unrevealed commits on netuid (every
// hotkey's when hotkey is ""), oldest first.
func (c *Chain) TimelockedCommits(ctx context.Context, netuid uint16, hotkey string) ([]chain.TimelockedCommit, error) {
	if _, err := loadParams(ctx, c.db, netuid); err != nil {
		return nil, err
	}
	rows, err := c.db.QueryContext(ctx, `SELECT hotkey, commit_block, reveal_round, ciphertext FROM timelocked_commits
		WHERE netuid = ? AND (? = '' OR hotkey = ?) ORDER BY id`, netuid, hotkey, hotkey)
	if err != nil {
		return nil, fmt.Errorf("read timelocked commits of netuid %d: %w", netuid, err)
	}
	defer rows.Close()
	out := []chain.TimelockedCommit{}
	for rows.Next() {
		var tc chain.TimelockedCommit
		if err := rows.Scan(&tc.Hotkey, &tc.Block, &tc.RevealRound, &tc.Ciphertext); err != nil {
			return nil, fmt.Errorf("read timelocked commits of netuid %d: %w", netuid, err)
		}
		out = append(out, tc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read timelocked commits of netuid %d: %w", netuid, err)
	}
	return out, nil
}

// Weights reads uid's weights row (uids ascending, values max-upscaled to
// 65535 as stored); empty when uid has none.
func (c *Chain) Weights(ctx context.Context, netuid, uid uint16) ([]uint16, []uint16, error) {
	if _, err := c.Neuron(ctx, netuid, uid); err != nil {
		return nil, nil, err
	}
	rows, err := c.db.QueryContext(ctx, `SELECT dest, value FROM weights WHERE netuid = ? AND uid = ? ORDER BY dest`, netuid, uid)
	if err != nil {
		return nil, nil, fmt.Errorf("read weights of uid %d on netuid %d: %w", uid, netuid, err)
	}
	defer rows.Close()
	uids, values := []uint16{}, []uint16{}
	for rows.Next() {
		var d, v uint16
		if err := rows.Scan(&d, &v); err != nil {
			return nil, nil, fmt.Errorf("read weights of uid %d on netuid %d: %w", uid, netuid, err)
		}
		uids, values = append(uids, d), append(values, v)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read weights of uid %d on netuid %d: %w", uid, netuid, err)
	}
	return uids, values, nil
}

// CommitTimelockedWeights submits a timelocked commit and returns the block
// that includes it.
func (c signedCalls) CommitTimelockedWeights(ctx context.Context, netuid uint16, hotkey chain.Signer, ciphertext []byte, revealRound uint64, version uint16) (uint64, error) {
	res, err := send(ctx, c.s, hotkey, MethodCommitTimelockedWeights,
		CommitTimelockedArgs{Netuid: netuid, Commit: ciphertext, RevealRound: revealRound, CommitRevealVersion: version})
	return res.Block, err
}

// DecodeCommitTimelockedArgs decodes commit_timelocked_weights' arguments
// strictly (unknown fields and trailing data refused); exported for fuzzing.
func DecodeCommitTimelockedArgs(raw []byte) (CommitTimelockedArgs, error) {
	var a CommitTimelockedArgs
	if err := decodeStrict(raw, &a, "args"); err != nil {
		return CommitTimelockedArgs{}, fmt.Errorf("%w: %s: %v", ErrInvalidCall, MethodCommitTimelockedWeights, err)
	}
	return a, nil
}
