package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// Cancel moves a pending or processing job to cancelled, a final status
// (Requeue can bring it back). A processing job's handler sees its
// context end at once in this process (context.Cause is ErrJobCancelled),
// within Config.PollInterval in another, or at once there on PostgreSQL;
// whatever it then returns is discarded. A cancelled job that was running
// may still have done part of its work: handlers are idempotent. Cancel
// returns ErrNotFound, or ErrCannotCancel for a completed, failed or
// cancelled job.
func (s *JobStore) Cancel(id string) (*Job, error) {
	d, err := s.driver()
	if err != nil {
		return nil, err
	}
	if !storableText(id) {
		return nil, fmt.Errorf("cancel job %q: %w", id, ErrNotFound)
	}
	row, err := d.Cancel(context.Background(), driver.CancelParams{ID: id, Now: s.p.clock.Now()})
	if errors.Is(err, driver.ErrWrongStatus) {
		err = ErrCannotCancel
	}
	if err != nil {
		return nil, fmt.Errorf("cancel job %q: %w", id, err)
	}
	s.afterCommit(func() { s.p.dispatcher.cancel(driver.Claim{ID: row.ID, LockVersion: row.LockVersion}) })
	return jobFromRow(row), nil
}

// Pause stops every process sharing the job database from claiming jobs of
// topic until Resume; jobs running then run to their end, and enqueues of
// the topic still succeed. The pause is stored in the job database, so it
// survives restarts. Pausing a paused topic does nothing.
func (s *JobStore) Pause(topic string) error {
	return s.setPaused(topic, true)
}

// Resume lets every process claim jobs of topic again. Resuming a topic
// that is not paused does nothing.
func (s *JobStore) Resume(topic string) error {
	return s.setPaused(topic, false)
}

// setPaused pauses or resumes topic; a resumed topic's jobs are claimed
// at once by this process, and on PostgreSQL by the others.
func (s *JobStore) setPaused(topic string, paused bool) error {
	d, err := s.driver()
	if err != nil {
		return err
	}
	if err := checkTopic(topic); err != nil {
		return err
	}
	verb := "resume"
	if paused {
		verb = "pause"
	}
	err = d.SetPaused(context.Background(), driver.PauseParams{Topic: topic, Paused: paused, Now: s.p.clock.Now()})
	if err != nil {
		return fmt.Errorf("%s topic %q: %w", verb, topic, err)
	}
	if !paused {
		s.afterCommit(s.p.waker.Wake)
	}
	return nil
}

// TopicInfo is one topic of Topics: its jobs counted per status (the fields
// of JobStats, at the top level of its JSON), whether it is paused, and
// whether this process has a handler for it.
type TopicInfo struct {
	Topic string `json:"topic"`
	JobStats
	Paused     bool `json:"paused"`
	HasHandler bool `json:"has_handler"`
}

// Topics lists, in topic order, every topic that has jobs, is paused, or
// has a handler in this process. It counts every job of the table, so it
// takes longer the more jobs are kept (see Config.Retention).
func (s *JobStore) Topics() ([]TopicInfo, error) {
	d, err := s.driver()
	if err != nil {
		return nil, err
	}
	stored, err := d.Topics(context.Background())
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	topics := make([]TopicInfo, 0, len(stored))
	for _, t := range stored {
		topics = append(topics, TopicInfo{
			Topic: t.Topic, JobStats: statsFromDriver(t.Stats), Paused: t.Paused,
			HasHandler: s.p.handlers.handles(t.Topic),
		})
	}
	for _, topic := range s.p.handlers.list() {
		if !slices.ContainsFunc(stored, func(t driver.TopicStats) bool { return t.Topic == topic }) {
			topics = append(topics, TopicInfo{Topic: topic, HasHandler: true})
		}
	}
	// In byte order, whatever the database's collation.
	slices.SortFunc(topics, func(a, b TopicInfo) int { return strings.Compare(a.Topic, b.Topic) })
	return topics, nil
}

// topic returns the TopicInfo of one topic, which may have no jobs.
func (s *JobStore) topic(topic string) (TopicInfo, error) {
	topics, err := s.Topics()
	if err != nil {
		return TopicInfo{}, err
	}
	for _, t := range topics {
		if t.Topic == topic {
			return t, nil
		}
	}
	return TopicInfo{Topic: topic}, nil
}
