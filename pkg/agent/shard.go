package agent

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/exhibit-dev/exhibit/pkg/schedule"
)

// Shard places one replica among the replicas that share a store. Each
// series (collector instance × scope) is assigned by rendezvous hashing to a
// primary replica and a standby: the primary collects every slot, the
// standby only a slot the store does not hold complete by StandbyDelay
// after the slot began, and the others skip the series. The store's conditional writes are
// the only coordination: when a late primary and its standby both collect a
// slot, one claims the next seq and the other finds the slot recorded.
//
// The zero Shard (or Replicas 1) is a single replica that collects every
// series.
type Shard struct {
	Replicas int
	Ordinal  int
	// StandbyDelay is how long after a slot starts its standby waits for
	// the primary's snapshot; zero for schedule.StandbyDelay of the schedule.
	StandbyDelay time.Duration
}

// role is what a replica does with a series.
type role int

const (
	roleSkip    role = iota // neither primary nor standby
	rolePrimary             // collects every slot
	roleStandby             // collects a slot its primary did not record in time
)

func (s Shard) sharded() bool { return s.Replicas > 1 }

func (s Shard) role(series string) role {
	if !s.sharded() {
		return rolePrimary
	}
	primary, standby := Assign(series, s.Replicas)
	switch s.Ordinal {
	case primary:
		return rolePrimary
	case standby:
		return roleStandby
	}
	return roleSkip
}

// Assign returns the primary and the standby replica of series among
// replicas 0 to n-1: the replicas with the highest and second-highest
// weight, a hash of the series and the replica. Every replica computes the
// same answer from the series name alone, and changing n moves only the
// series whose primary or standby was the replica added or removed. With one
// replica, it is both.
func Assign(series string, n int) (primary, standby int) {
	primary, standby = 0, 0
	var best, second uint64
	for r := range n {
		w := weight(series, r)
		switch {
		case r == 0 || w > best:
			if r > 0 {
				standby, second = primary, best
			}
			primary, best = r, w
		case r == 1 || w > second:
			standby, second = r, w
		}
	}
	return primary, standby
}

func weight(series string, replica int) uint64 {
	sum := sha256.Sum256([]byte(series + "\x00" + strconv.Itoa(replica)))
	return binary.BigEndian.Uint64(sum[:8])
}

// slotStart is the start of the schedule slot t falls in: the latest time at
// or before t that s fires. For an "@every d" schedule that is the start of
// the clock's d-long window t falls in (schedule.Window), where the runner
// fires it on every replica.
func slotStart(s cron.Schedule, t time.Time) time.Time {
	t = t.UTC()
	if every, ok := s.(cron.ConstantDelaySchedule); ok {
		return schedule.Window(every.Delay, t)
	}
	// Look back by doubling steps: once a step finds no firing, the one
	// after it spans at most two intervals, so the walk forward is short.
	for back := time.Minute; back < 20*365*24*time.Hour; back *= 2 {
		f := s.Next(t.Add(-back))
		if f.IsZero() || f.After(t) {
			continue
		}
		for n := s.Next(f); !n.IsZero() && !n.After(t); n = s.Next(n) {
			f = n
		}
		return f
	}
	return time.Time{}
}

// standbyDue is when a standby run that started at start may collect the
// slot it falls in.
func (s Shard) standbyDue(sched cron.Schedule, start time.Time) time.Time {
	delay := s.StandbyDelay
	if delay <= 0 {
		delay = schedule.StandbyDelay(sched, start)
	}
	return slotStart(sched, start).Add(delay)
}

// standbyDue waits until a standby may collect the slot of a run that
// started at start, and reports whether that time came before a shutdown.
func (a *Agent) standbyDue(shutdown context.Context, job Job, start time.Time, log *zap.Logger) bool {
	sched, err := schedule.Parse(job.Schedule)
	if err != nil {
		// The runner refuses such a job; a run without a slot waits for none.
		return shutdown.Err() == nil
	}
	if !sleepUntil(shutdown, job.Shard.standbyDue(sched, start), a.opts.Now) {
		log.Warn("interrupted before the standby deadline; nothing is written for the series this replica stands by for")
		return false
	}
	return true
}

// slotRecorded reports whether the store holds a snapshot of series, of any
// status, started in the current slot of the job's schedule: it decides
// whether a standby records a failed discovery, which its own would only
// repeat. A store that cannot tell is taken as not.
func (a *Agent) slotRecorded(ctx context.Context, job Job, series string, log *zap.Logger) bool {
	lock := a.seriesLock(series)
	lock.Lock()
	defer lock.Unlock()
	h, err := a.head(context.WithoutCancel(ctx), series)
	if err != nil || !h.inSlot(job.Schedule, a.opts.Now()) {
		return false
	}
	logSlotRecorded(log, series, roleStandby, h.seq)
	return true
}

func logSlotRecorded(log *zap.Logger, series string, r role, seq int64) {
	log.Info("run slot already recorded by another replica; not collected",
		zap.String("series", series), zap.Bool("standby", r == roleStandby), zap.Int64("recorded_seq", seq))
}

// sleepUntil waits until now() reaches t or ctx is done, and reports
// whether t came. It re-reads now() every second, so the wait follows the
// agent's clock (Options.Now) rather than counting on its own.
func sleepUntil(ctx context.Context, t time.Time, now func() time.Time) bool {
	for {
		wait := t.Sub(now())
		if wait <= 0 {
			return ctx.Err() == nil
		}
		timer := time.NewTimer(min(wait, time.Second))
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return false
		}
	}
}
