package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pocketbase-jobs/jobs/internal/driver"
	"github.com/pocketbase/pocketbase/core"
)

// JobStore enqueues, reads and manages jobs, and registers their handlers.
// Get one with GetJobStore; a store from a transaction app works inside that
// transaction.
type JobStore struct {
	// p is nil when the plugin is disabled or not registered; err says which.
	p   *plugin
	err error
	// txApp is the transaction app the store is bound to, or nil.
	txApp core.App
}

// Register binds handler to topic. Only topics with a handler are claimed by
// this process's dispatcher. Handlers may be registered before or after
// Start. A handler must be idempotent: a job runs at least once, and may run
// again after a crash or an expired lock. What it returns decides the job's
// fate: nil completes it, Snooze puts it back for later without using a
// retry, SkipRetry fails it at once, and any other error is a failed
// attempt, retried after a backoff while retries are left.
func (s *JobStore) Register(topic string, handler func(job *Job) error) error {
	return s.RegisterWithOptions(topic, handler, nil)
}

// RegisterWithOptions is Register with options for the topic: a timeout per
// attempt, a concurrency limit in this process, its own lock duration and
// retry backoff. nil opts is the same as Register; negative options are
// ErrInvalidOptions.
func (s *JobStore) RegisterWithOptions(topic string, handler func(job *Job) error, opts *HandlerOptions) error {
	if s.p == nil {
		return s.err
	}
	if err := checkTopic(topic); err != nil {
		return err
	}
	if handler == nil {
		return fmt.Errorf("register %q: %w", topic, ErrNilHandler)
	}
	var o HandlerOptions
	if opts != nil {
		o = *opts
	}
	if err := o.check(); err != nil {
		return fmt.Errorf("register %q: %w", topic, err)
	}
	if err := s.p.handlers.add(topic, handler, o); err != nil {
		return err
	}
	// Jobs of the topic may be waiting already: a running dispatcher
	// claims them now rather than at its next poll.
	s.p.waker.Wake()
	return nil
}

// Enqueue adds a job to run as soon as a worker is free. The payload may be
// any JSON-encodable value; a json.RawMessage or []byte is taken as JSON
// already encoded. It is stored as compact JSON, without HTML escaping. A
// payload that is not valid UTF-8, or holds an object with two keys that
// are equal ignoring case (as encoding/json matches keys), is
// ErrInvalidPayload.
func (s *JobStore) Enqueue(topic string, payload any) (*Job, error) {
	return s.EnqueueWithOptions(topic, payload, nil)
}

// EnqueueAt adds a job that becomes runnable at runAt.
func (s *JobStore) EnqueueAt(topic string, payload any, runAt time.Time) (*Job, error) {
	return s.EnqueueWithOptions(topic, payload, &JobEnqueueOptions{RunAt: runAt})
}

// EnqueueWithOptions adds a job with the given options; nil opts is the same
// as Enqueue.
func (s *JobStore) EnqueueWithOptions(topic string, payload any, opts *JobEnqueueOptions) (*Job, error) {
	if s.p == nil {
		return nil, s.err
	}
	params, err := s.p.insertParams(topic, payload, opts, s.p.clock.Now())
	if err != nil {
		return nil, err
	}
	rows, err := s.p.insert(s.txApp, []driver.InsertParams{params})
	if err != nil {
		return nil, fmt.Errorf("enqueue %q: %w", topic, err)
	}
	return jobFromRow(rows[0]), nil
}

// JobEnqueueItem is one job of EnqueueMany.
type JobEnqueueItem struct {
	Topic   string
	Payload any
	// Options may be nil.
	Options *JobEnqueueOptions
}

// EnqueueMany adds several jobs at once, in one transaction: all of them or,
// on any error, none. It is much faster than one Enqueue per job.
func (s *JobStore) EnqueueMany(items []JobEnqueueItem) ([]*Job, error) {
	if s.p == nil {
		return nil, s.err
	}
	if len(items) == 0 {
		return []*Job{}, nil
	}
	now := s.p.clock.Now()
	params := make([]driver.InsertParams, len(items))
	for i, item := range items {
		var err error
		if params[i], err = s.p.insertParams(item.Topic, item.Payload, item.Options, now); err != nil {
			return nil, fmt.Errorf("enqueue item %d: %w", i, err)
		}
	}
	inIDOrder(params)
	rows, err := s.p.insert(s.txApp, params)
	if err != nil {
		return nil, fmt.Errorf("enqueue %d jobs: %w", len(items), err)
	}
	out := make([]*Job, len(rows))
	for i, r := range rows {
		out[i] = jobFromRow(r)
	}
	return out, nil
}

// inIDOrder gives the jobs of a batch their random ids in ascending order,
// so that jobs enqueued together, which share their run_at and mostly their
// priority, are claimed in the order they were enqueued (claims take ties
// by id), and a claim writes rows stored side by side rather than rows
// scattered over the table.
func inIDOrder(jobs []driver.InsertParams) {
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	slices.Sort(ids)
	for i := range jobs {
		jobs[i].ID = ids[i]
	}
}

// Get returns the job with the given id, or ErrNotFound.
func (s *JobStore) Get(id string) (*Job, error) {
	d, err := s.driver()
	if err != nil {
		return nil, err
	}
	if !storableText(id) {
		return nil, fmt.Errorf("get job %q: %w", id, ErrNotFound)
	}
	row, err := d.Get(context.Background(), driver.GetParams{ID: id})
	if err != nil {
		return nil, fmt.Errorf("get job %q: %w", id, err)
	}
	return jobFromRow(row), nil
}

// List returns one page of jobs, newest first. A nil filter lists all jobs.
func (s *JobStore) List(filter *JobFilter) (*JobList, error) {
	d, err := s.driver()
	if err != nil {
		return nil, err
	}
	var f JobFilter
	if filter != nil {
		f = *filter
	}
	if f.Status != "" && !isValidStatus(f.Status) {
		return nil, fmt.Errorf("%w: unknown status %q", ErrInvalidFilter, f.Status)
	}
	if f.Limit < 0 || f.Limit > MaxListLimit {
		return nil, fmt.Errorf("%w: limit %d is outside 0..%d", ErrInvalidFilter, f.Limit, MaxListLimit)
	}
	if f.Offset < 0 {
		return nil, fmt.Errorf("%w: offset %d is negative", ErrInvalidFilter, f.Offset)
	}
	if f.Limit == 0 {
		f.Limit = DefaultListLimit
	}
	if !storableText(f.Topic) {
		// No job can have such a topic.
		return &JobList{Items: []*Job{}, Limit: f.Limit, Offset: f.Offset}, nil
	}
	rows, total, err := d.List(context.Background(), driver.ListParams{
		Topic: f.Topic, Status: f.Status, Limit: f.Limit, Offset: f.Offset,
	})
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	list := &JobList{Items: make([]*Job, 0, len(rows)), Total: total, Limit: f.Limit, Offset: f.Offset}
	for _, r := range rows {
		list.Items = append(list.Items, jobFromRow(r))
	}
	return list, nil
}

// Stats counts jobs per status.
func (s *JobStore) Stats() (*JobStats, error) {
	d, err := s.driver()
	if err != nil {
		return nil, err
	}
	st, err := d.Stats(context.Background())
	if err != nil {
		return nil, fmt.Errorf("job stats: %w", err)
	}
	stats := statsFromDriver(st)
	return &stats, nil
}

// Delete removes a pending, failed or cancelled job. It returns ErrNotFound
// or ErrCannotDelete otherwise.
func (s *JobStore) Delete(id string) error {
	d, err := s.driver()
	if err != nil {
		return err
	}
	if !storableText(id) {
		return fmt.Errorf("delete job %q: %w", id, ErrNotFound)
	}
	_, err = d.Delete(context.Background(), driver.DeleteParams{ID: id})
	if errors.Is(err, driver.ErrWrongStatus) {
		err = ErrCannotDelete
	}
	if err != nil {
		return fmt.Errorf("delete job %q: %w", id, err)
	}
	return nil
}

// Requeue moves a failed or cancelled job back to pending, to run now with a
// fresh set of retries. It returns ErrNotFound, or ErrCannotRequeue for a
// job in another status, or whose unique key another pending or processing
// job of its topic holds meanwhile.
func (s *JobStore) Requeue(id string) (*Job, error) {
	d, err := s.driver()
	if err != nil {
		return nil, err
	}
	if !storableText(id) {
		return nil, fmt.Errorf("requeue job %q: %w", id, ErrNotFound)
	}
	now := s.p.clock.Now()
	row, err := d.Requeue(context.Background(), driver.RequeueParams{ID: id, RunAt: now, Now: now})
	switch {
	case errors.Is(err, driver.ErrWrongStatus):
		err = ErrCannotRequeue
	case errors.Is(err, driver.ErrRejected):
		err = fmt.Errorf("%w: a pending or processing job of its topic holds its unique key", ErrCannotRequeue)
	}
	if err != nil {
		return nil, fmt.Errorf("requeue job %q: %w", id, err)
	}
	s.afterCommit(s.p.waker.Wake)
	return jobFromRow(row), nil
}

// afterCommit runs fn now, or once the store's transaction has committed
// when it is bound to one (and never if it rolls back).
func (s *JobStore) afterCommit(fn func()) {
	if s.txApp == nil {
		fn()
	} else {
		onCommit(s.txApp, fn)
	}
}

// Start runs the dispatcher of this process. It is safe to call more than
// once; AutoStart calls it when the app serves.
func (s *JobStore) Start() error {
	if s.p == nil {
		return s.err
	}
	return s.p.dispatcher.start()
}

// Stop stops claiming, lets running handlers finish within
// Config.ShutdownTimeout, then cancels them and puts their jobs back to
// pending. It returns within Config.ShutdownTimeout plus one second,
// whatever the job database does; it reports the outcomes it could not
// write by then (those jobs stay processing until their locks expire, and
// run again). It is safe before Start and more than once.
func (s *JobStore) Stop() error {
	if s.p == nil {
		return s.err
	}
	return s.p.dispatcher.stop()
}

// insert stores jobs in the job database, or in txApp's transaction when it
// is not nil, and wakes the claim loop for them.
func (p *plugin) insert(txApp core.App, jobs []driver.InsertParams) ([]driver.JobRow, error) {
	db, err := p.currentDB()
	if err != nil {
		return nil, err
	}
	return db.insert(context.Background(), txApp, jobs, p.wakeFor)
}

// wakeFor wakes the claim loop for jobs just stored whose topic has a
// handler in this process: now for runnable ones, at run_at for delayed
// ones. A job of a topic handled elsewhere, or by nobody, would only make
// it claim for nothing.
func (p *plugin) wakeFor(jobs []driver.InsertParams) {
	for _, j := range jobs {
		if p.handlers.handles(j.Topic) {
			p.waker.WakeAt(j.RunAt)
		}
	}
}

// driver returns the driver for the store's reads and changes: the
// transaction's when the store is bound to a transaction app and the jobs
// live in the app's SQLite (see jobDB.driverFor).
func (s *JobStore) driver() (driver.Driver, error) {
	if s.p == nil {
		return nil, s.err
	}
	db, err := s.p.currentDB()
	if err != nil {
		return nil, err
	}
	drv, _ := db.driverFor(s.txApp)
	return drv, nil
}

// MaxRetriesLimit is the most retries a job may have after its first
// attempt (JobEnqueueOptions.MaxRetries, Config.MaxRetries). It is far more
// than any backoff needs (with DefaultRetryBackoff the last retry comes
// 1000² minutes, almost two years, after the one before), fits every job
// database's column, and keeps DefaultRetryBackoff far from overflowing.
const MaxRetriesLimit = 1000

// insertParams validates an enqueue and builds its row.
func (p *plugin) insertParams(topic string, payload any, opts *JobEnqueueOptions, now time.Time) (driver.InsertParams, error) {
	if err := checkTopic(topic); err != nil {
		return driver.InsertParams{}, err
	}
	var o JobEnqueueOptions
	if opts != nil {
		o = *opts
	}
	maxRetries := o.MaxRetries
	if maxRetries == 0 {
		maxRetries = p.config.MaxRetries // resolved: a count or NoRetries
	}
	switch {
	case maxRetries == NoRetries:
		maxRetries = 0
	case maxRetries < 0:
		return driver.InsertParams{}, fmt.Errorf("%w: MaxRetries %d (use NoRetries for none)", ErrInvalidOptions, o.MaxRetries)
	}
	runAt := o.RunAt
	if runAt.IsZero() {
		runAt = now
	}
	if err := checkOptions(maxRetries, runAt, o.Priority, o.UniqueKey); err != nil {
		return driver.InsertParams{}, err
	}
	encoded, err := encodePayload(payload)
	if err != nil {
		return driver.InsertParams{}, err
	}
	if int64(len(encoded)) > p.config.MaxPayloadSize {
		return driver.InsertParams{}, fmt.Errorf("%w: %d bytes, the limit is %d", ErrPayloadTooLarge, len(encoded), p.config.MaxPayloadSize)
	}
	return driver.InsertParams{
		ID:         core.GenerateDefaultRandomId(),
		Topic:      topic,
		Payload:    encoded,
		RunAt:      runAt,
		MaxRetries: maxRetries,
		Priority:   o.Priority,
		UniqueKey:  o.UniqueKey,
		Now:        now,
	}, nil
}

// checkRow makes an enqueue's checks of a row read back from the outbox,
// which an older version (or anything else writing to the app's database)
// may have written without them: its topic, options and payload. The size
// limit is not checked again: it depends on the configuration of the
// process that enqueued the job.
func checkRow(row driver.InsertParams) error {
	if err := checkTopic(row.Topic); err != nil {
		return err
	}
	if err := checkOptions(row.MaxRetries, row.RunAt, row.Priority, row.UniqueKey); err != nil {
		return err
	}
	if !json.Valid(row.Payload) {
		return fmt.Errorf("%w: not JSON", ErrInvalidPayload)
	}
	return checkPayload(row.Payload)
}

// checkOptions refuses, with ErrInvalidOptions, retries outside
// 0..MaxRetriesLimit, a run time outside the years 1 to 9999 (in UTC), a
// priority outside MinPriority..MaxPriority, and a unique key longer than
// MaxUniqueKeyLength or that no database can store as text: what every job
// database stores and a job's JSON form holds.
func checkOptions(maxRetries int, runAt time.Time, priority int, uniqueKey string) error {
	switch {
	case maxRetries < 0 || maxRetries > MaxRetriesLimit:
		return fmt.Errorf("%w: MaxRetries %d is outside 0..%d", ErrInvalidOptions, maxRetries, MaxRetriesLimit)
	case runAt.UTC().Year() < 1 || runAt.UTC().Year() > 9999:
		return fmt.Errorf("%w: RunAt %s is outside the years 1..9999", ErrInvalidOptions, runAt.UTC().Format(time.RFC3339Nano))
	case priority < MinPriority || priority > MaxPriority:
		return fmt.Errorf("%w: Priority %d is outside %d..%d", ErrInvalidOptions, priority, MinPriority, MaxPriority)
	case len(uniqueKey) > MaxUniqueKeyLength:
		return fmt.Errorf("%w: UniqueKey is %d bytes long, the limit is %d", ErrInvalidOptions, len(uniqueKey), MaxUniqueKeyLength)
	case !storableText(uniqueKey):
		return fmt.Errorf("%w: UniqueKey %q is not valid UTF-8 without NUL characters", ErrInvalidOptions, uniqueKey)
	}
	return nil
}

// checkTopic refuses a blank topic and one that no database can store as
// text: invalid UTF-8 or a NUL character.
func checkTopic(topic string) error {
	if strings.TrimSpace(topic) == "" {
		return ErrEmptyTopic
	}
	if !storableText(topic) {
		return fmt.Errorf("%w: %q", ErrInvalidTopic, topic)
	}
	return nil
}

// storableText tells whether s is valid UTF-8 without NUL characters, as
// every job database stores text.
func storableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// storableErrorText returns err's text made storable: bytes that are not
// UTF-8 replaced by U+FFFD, NUL characters removed.
func storableErrorText(err error) string {
	return strings.ReplaceAll(strings.ToValidUTF8(err.Error(), "\uFFFD"), "\x00", "")
}
