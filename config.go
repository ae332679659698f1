package jobs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config defines the options of the jobs plugin. Start from DefaultConfig:
// the boolean fields default to true there, which a zero Config cannot say.
//
// Every field marked with a PB_JOBS_* variable is overridden by that
// environment variable when it is set; an unparsable value makes Register fail
// with an error naming the variable.
type Config struct {
	// Disabled registers nothing at all: no table, no routes, no dispatcher.
	// GetJobStore still returns a store, whose operations return ErrDisabled.
	// Env: PB_JOBS_DISABLED. Default: false.
	Disabled bool

	// Workers is the number of handlers that may run at once.
	// Env: PB_JOBS_WORKERS. Default: 10.
	Workers int

	// PollInterval is how often the dispatcher looks for jobs it was not
	// woken for: jobs enqueued by other processes and expired locks.
	// Enqueues of this process wake it at once.
	// Env: PB_JOBS_POLL_INTERVAL (Go duration syntax, e.g. "500ms"). Default: 1s.
	PollInterval time.Duration

	// LockDuration is how long a claimed job stays locked. A handler's
	// context is cancelled when the lock expires, and the job becomes
	// claimable again (crash recovery).
	// Env: PB_JOBS_LOCK_DURATION. Default: 5m.
	LockDuration time.Duration

	// BatchSize is the most jobs claimed in one statement; a claim never
	// takes more jobs than there are free workers.
	// Env: PB_JOBS_BATCH_SIZE. Default: 10.
	BatchSize int

	// MaxRetries is the default number of retries after the first attempt
	// (a job runs at most MaxRetries+1 times). 0 means no retries.
	// Env: PB_JOBS_MAX_RETRIES. Default: 3.
	MaxRetries int

	// MaxPayloadSize is the longest accepted JSON encoding of a payload, in
	// bytes. Env: PB_JOBS_MAX_PAYLOAD_SIZE. Default: 1 MiB (1048576).
	MaxPayloadSize int64

	// HTTPEnabled registers the /api/jobs routes when the app serves.
	// Env: PB_JOBS_HTTP_ENABLED. Default: true.
	HTTPEnabled bool

	// EnqueueRule guards POST /api/jobs/enqueue. It is a PocketBase filter
	// expression; "" means superusers only. Env: PB_JOBS_ENQUEUE_RULE.
	EnqueueRule string

	// ManageRule guards every other route. "" means superusers only.
	// Env: PB_JOBS_MANAGE_RULE.
	ManageRule string

	// AllowedTopics, when not empty, is the only topics HTTP enqueue accepts.
	// Env: PB_JOBS_ALLOWED_TOPICS (comma separated).
	AllowedTopics []string

	// AutoStart starts the dispatcher when the app serves. CLI commands that
	// only bootstrap the app never run jobs. Call JobStore.Start to run jobs
	// in a process that does not serve.
	// Env: PB_JOBS_AUTO_START. Default: true.
	AutoStart bool

	// ShutdownTimeout is how long Stop lets running handlers finish before
	// it cancels their contexts and puts their jobs back to pending.
	// Env: PB_JOBS_SHUTDOWN_TIMEOUT. Default: 10s.
	ShutdownTimeout time.Duration

	// Retention is how long completed jobs are kept; older ones are deleted
	// in small batches by the process running the dispatcher. Failed jobs
	// are kept until deleted. A negative value keeps completed jobs forever.
	// Env: PB_JOBS_RETENTION (e.g. "168h"). Default: 7 days.
	Retention time.Duration

	// PostgresDSN, when set, keeps the jobs in that PostgreSQL database
	// instead of the app's SQLite, so several processes can share one queue
	// (e.g. "postgres://user:pass@host:5432/db"). The app's own data stays
	// where it is. Env: PB_JOBS_POSTGRES_DSN.
	PostgresDSN string

	// RetryBackoff returns the delay before retry number retry (1 for the
	// first retry). Default: retry² minutes (1m, 4m, 9m, ...).
	RetryBackoff func(retry int) time.Duration
}

// Defaults of the numeric Config fields; a zero value in Config takes them.
const (
	DefaultWorkers         = 10
	DefaultPollInterval    = time.Second
	DefaultLockDuration    = 5 * time.Minute
	DefaultBatchSize       = 10
	DefaultMaxRetries      = 3
	DefaultMaxPayloadSize  = 1 << 20
	DefaultShutdownTimeout = 10 * time.Second
	DefaultRetention       = 7 * 24 * time.Hour
)

// DefaultConfig returns the configuration of the specification: 10 workers,
// 1s poll, 5m lock, batches of 10, 3 retries, 1 MiB payloads, HTTP API on,
// superusers only, dispatcher started when the app serves.
func DefaultConfig() Config {
	return Config{
		Workers:         DefaultWorkers,
		PollInterval:    DefaultPollInterval,
		LockDuration:    DefaultLockDuration,
		BatchSize:       DefaultBatchSize,
		MaxRetries:      DefaultMaxRetries,
		MaxPayloadSize:  DefaultMaxPayloadSize,
		HTTPEnabled:     true,
		AutoStart:       true,
		ShutdownTimeout: DefaultShutdownTimeout,
		Retention:       DefaultRetention,
	}
}

// DefaultRetryBackoff waits retry² minutes before retry number retry.
func DefaultRetryBackoff(retry int) time.Duration {
	return time.Duration(retry*retry) * time.Minute
}

// resolve applies the PB_JOBS_* environment over c, fills zero values with
// their defaults and checks every value.
func (c Config) resolve() (Config, error) {
	env := envReader{lookup: os.LookupEnv}
	env.bool("PB_JOBS_DISABLED", &c.Disabled)
	env.int("PB_JOBS_WORKERS", &c.Workers)
	env.duration("PB_JOBS_POLL_INTERVAL", &c.PollInterval)
	env.duration("PB_JOBS_LOCK_DURATION", &c.LockDuration)
	env.int("PB_JOBS_BATCH_SIZE", &c.BatchSize)
	env.int("PB_JOBS_MAX_RETRIES", &c.MaxRetries)
	env.int64("PB_JOBS_MAX_PAYLOAD_SIZE", &c.MaxPayloadSize)
	env.bool("PB_JOBS_HTTP_ENABLED", &c.HTTPEnabled)
	env.string("PB_JOBS_ENQUEUE_RULE", &c.EnqueueRule)
	env.string("PB_JOBS_MANAGE_RULE", &c.ManageRule)
	env.list("PB_JOBS_ALLOWED_TOPICS", &c.AllowedTopics)
	env.bool("PB_JOBS_AUTO_START", &c.AutoStart)
	env.duration("PB_JOBS_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	env.string("PB_JOBS_POSTGRES_DSN", &c.PostgresDSN)
	env.duration("PB_JOBS_RETENTION", &c.Retention)
	if env.err != nil {
		return c, env.err
	}

	fillDefault(&c.Workers, DefaultWorkers)
	fillDefault(&c.PollInterval, DefaultPollInterval)
	fillDefault(&c.LockDuration, DefaultLockDuration)
	fillDefault(&c.BatchSize, DefaultBatchSize)
	fillDefault(&c.MaxPayloadSize, DefaultMaxPayloadSize)
	fillDefault(&c.ShutdownTimeout, DefaultShutdownTimeout)
	fillDefault(&c.Retention, DefaultRetention)
	if c.RetryBackoff == nil {
		c.RetryBackoff = DefaultRetryBackoff
	}

	checks := []struct {
		ok   bool
		name string
	}{
		{c.Workers > 0, "Workers (PB_JOBS_WORKERS) must be positive"},
		{c.PollInterval > 0, "PollInterval (PB_JOBS_POLL_INTERVAL) must be positive"},
		{c.LockDuration > 0, "LockDuration (PB_JOBS_LOCK_DURATION) must be positive"},
		{c.BatchSize > 0, "BatchSize (PB_JOBS_BATCH_SIZE) must be positive"},
		{c.MaxRetries >= 0, "MaxRetries (PB_JOBS_MAX_RETRIES) must not be negative"},
		{c.MaxPayloadSize > 0, "MaxPayloadSize (PB_JOBS_MAX_PAYLOAD_SIZE) must be positive"},
		{c.ShutdownTimeout > 0, "ShutdownTimeout (PB_JOBS_SHUTDOWN_TIMEOUT) must be positive"},
	}
	for _, check := range checks {
		if !check.ok {
			return c, fmt.Errorf("%w: %s", ErrInvalidConfig, check.name)
		}
	}
	for _, topic := range c.AllowedTopics {
		if strings.TrimSpace(topic) == "" {
			return c, fmt.Errorf("%w: AllowedTopics (PB_JOBS_ALLOWED_TOPICS) holds an empty topic", ErrInvalidConfig)
		}
	}
	return c, nil
}

// fillDefault sets *v to def when it is zero.
func fillDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// envReader reads PB_JOBS_* variables and keeps the first parse error.
type envReader struct {
	lookup func(string) (string, bool)
	err    error
}

// read returns the trimmed value of name and whether it is set to something
// other than blanks (a blank variable counts as unset) with no error before.
func (r *envReader) read(name string) (string, bool) {
	if r.err != nil {
		return "", false
	}
	v, _ := r.lookup(name)
	v = strings.TrimSpace(v)
	return v, v != ""
}

func (r *envReader) fail(name, value, want string) {
	r.err = fmt.Errorf("%w: %s=%q is not %s", ErrInvalidConfig, name, value, want)
}

func (r *envReader) bool(name string, dst *bool) {
	if v, ok := r.read(name); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			r.fail(name, v, "a boolean (true or false)")
			return
		}
		*dst = b
	}
}

func (r *envReader) int(name string, dst *int) {
	if v, ok := r.read(name); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			r.fail(name, v, "an integer")
			return
		}
		*dst = n
	}
}

func (r *envReader) int64(name string, dst *int64) {
	if v, ok := r.read(name); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			r.fail(name, v, "an integer")
			return
		}
		*dst = n
	}
}

func (r *envReader) duration(name string, dst *time.Duration) {
	if v, ok := r.read(name); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			r.fail(name, v, `a duration such as "500ms", "2s" or "5m"`)
			return
		}
		*dst = d
	}
}

func (r *envReader) string(name string, dst *string) {
	if v, ok := r.read(name); ok {
		*dst = v
	}
}

func (r *envReader) list(name string, dst *[]string) {
	v, ok := r.read(name)
	if !ok {
		return
	}
	var items []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	*dst = items
}
