package jobs

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pocketbase-jobs/jobs/internal/driver/pgdriver"
)

// Config defines the options of the jobs plugin.
//
// A zero field takes its default, so a Config literal such as
// jobs.Config{Workers: 2} is complete: MaxRetries 0 means DefaultMaxRetries
// (NoRetries asks for none), and every other zero number or duration takes
// the default named on its field. HTTPEnabled, DashboardEnabled and AutoStart
// default to true, which a literal cannot tell apart from false: in a Config
// that was not made by DefaultConfig they are true, and Register logs a line
// saying so when the app bootstraps. To turn them off in code, start from
// DefaultConfig.
//
// Every field marked with a PB_JOBS_* variable is overridden by that variable
// when it is set to a non-blank value. A variable's value means what it says
// (PB_JOBS_MAX_RETRIES=0 is no retries, PB_JOBS_WORKERS=0 is an error); a
// value that does not parse or is out of range makes Register fail with
// ErrInvalidConfig, naming the variable. Any other PB_JOBS_* variable, such
// as a misspelt one, is logged as a warning when the app bootstraps.
type Config struct {
	// Disabled registers nothing at all: no table, no routes, no dispatcher.
	// GetJobStore still returns a store, whose operations return ErrDisabled.
	// Env: PB_JOBS_DISABLED. Default: false.
	Disabled bool

	// Workers is the number of handlers that may run at once.
	// Env: PB_JOBS_WORKERS. Default (and 0): 10.
	Workers int

	// PollInterval is how often the dispatcher looks for jobs it was not
	// woken for: jobs enqueued by other processes and expired locks.
	// Enqueues of this process wake it at once.
	// Env: PB_JOBS_POLL_INTERVAL (Go duration syntax, e.g. "500ms").
	// Default (and 0): 1s.
	PollInterval time.Duration

	// LockDuration is how long a claimed job stays locked. A handler's
	// context is cancelled when the lock expires, and the job becomes
	// claimable again (crash recovery).
	// Env: PB_JOBS_LOCK_DURATION. Default (and 0): 5m.
	LockDuration time.Duration

	// BatchSize is the most jobs claimed in one statement; a claim never
	// takes more jobs than there are free workers.
	// Env: PB_JOBS_BATCH_SIZE. Default (and 0): 10.
	BatchSize int

	// MaxRetries is the default number of retries after the first attempt
	// (a job runs at most MaxRetries+1 times); JobEnqueueOptions.MaxRetries
	// overrides it for one job. 0 takes the default; NoRetries (-1) means
	// none. Env: PB_JOBS_MAX_RETRIES, where 0 means none.
	// Default (and 0): 3.
	MaxRetries int

	// MaxPayloadSize is the longest accepted JSON encoding of a payload, in
	// bytes. Env: PB_JOBS_MAX_PAYLOAD_SIZE. Default (and 0): 1 MiB (1048576).
	MaxPayloadSize int64

	// HTTPEnabled registers the /api/jobs routes when the app serves.
	// Env: PB_JOBS_HTTP_ENABLED. Default: true; false is only kept in a
	// Config made by DefaultConfig.
	HTTPEnabled bool

	// DashboardEnabled serves the dashboard, a web page for superusers, at
	// /_/jobs/ when the app serves. The page uses the HTTP API, so it is only
	// served when HTTPEnabled is true too.
	// Env: PB_JOBS_DASHBOARD_ENABLED. Default: true; false is only kept in a
	// Config made by DefaultConfig.
	DashboardEnabled bool

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
	// Env: PB_JOBS_AUTO_START. Default: true; false is only kept in a
	// Config made by DefaultConfig.
	AutoStart bool

	// ShutdownTimeout is how long Stop lets running handlers finish before
	// it cancels their contexts and puts their jobs back to pending. Stop
	// (and the app's terminate hook) returns within ShutdownTimeout plus
	// one second, whatever the job database does.
	// Env: PB_JOBS_SHUTDOWN_TIMEOUT. Default (and 0): 10s.
	ShutdownTimeout time.Duration

	// Retention is how long completed jobs are kept; older ones are deleted
	// in small batches by the process running the dispatcher. Failed jobs
	// are kept until deleted. A negative value keeps completed jobs forever.
	// Env: PB_JOBS_RETENTION (e.g. "168h"). Default (and 0): 7 days.
	Retention time.Duration

	// PostgresDSN, when set, keeps the jobs in that PostgreSQL database
	// instead of the app's SQLite, so several processes can share one queue
	// (e.g. "postgres://user:pass@host:5432/db"). The app's own data stays
	// where it is. Env: PB_JOBS_POSTGRES_DSN.
	PostgresDSN string

	// RetryBackoff returns the delay before retry number retry (1 for the
	// first retry). Default (and nil): retry² minutes (1m, 4m, 9m, ...).
	RetryBackoff func(retry int) time.Duration

	// fromDefaultConfig marks a Config made by DefaultConfig, whose
	// HTTPEnabled, DashboardEnabled and AutoStart say what the app chose. In
	// a literal they cannot say false, and take their default, true.
	fromDefaultConfig bool
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

// DefaultConfig returns the default configuration: 10 workers, 1s poll, 5m
// lock, batches of 10, 3 retries, 1 MiB payloads, HTTP API and dashboard on,
// superusers only, dispatcher started when the app serves, completed jobs
// kept 7 days.
//
// Zero fields of any Config take the same defaults; start from DefaultConfig
// to set HTTPEnabled, DashboardEnabled or AutoStart to false, which a Config
// literal cannot do.
func DefaultConfig() Config {
	return Config{
		Workers:           DefaultWorkers,
		PollInterval:      DefaultPollInterval,
		LockDuration:      DefaultLockDuration,
		BatchSize:         DefaultBatchSize,
		MaxRetries:        DefaultMaxRetries,
		MaxPayloadSize:    DefaultMaxPayloadSize,
		HTTPEnabled:       true,
		DashboardEnabled:  true,
		AutoStart:         true,
		ShutdownTimeout:   DefaultShutdownTimeout,
		Retention:         DefaultRetention,
		fromDefaultConfig: true,
	}
}

// DefaultRetryBackoff waits retry² minutes before retry number retry.
func DefaultRetryBackoff(retry int) time.Duration {
	return time.Duration(retry*retry) * time.Minute
}

// resolve applies the PB_JOBS_* environment over c, fills zero values with
// their defaults and checks every value. The result keeps Config's meaning
// of every field: its MaxRetries is NoRetries or a count, never 0.
func (c Config) resolve() (Config, error) {
	if !c.fromDefaultConfig {
		c.HTTPEnabled, c.DashboardEnabled, c.AutoStart = true, true, true
	}
	if err := applyEnv(&c, os.LookupEnv); err != nil {
		return c, err
	}

	fillDefault(&c.Workers, DefaultWorkers)
	fillDefault(&c.PollInterval, DefaultPollInterval)
	fillDefault(&c.LockDuration, DefaultLockDuration)
	fillDefault(&c.BatchSize, DefaultBatchSize)
	fillDefault(&c.MaxRetries, DefaultMaxRetries)
	fillDefault(&c.MaxPayloadSize, DefaultMaxPayloadSize)
	fillDefault(&c.ShutdownTimeout, DefaultShutdownTimeout)
	fillDefault(&c.Retention, DefaultRetention)
	if c.RetryBackoff == nil {
		c.RetryBackoff = DefaultRetryBackoff
	}
	return c, c.check()
}

// check reports the first field of a resolved Config that cannot be used.
// Values from the environment were checked as they were read, so a field
// named here was set in code.
func (c Config) check() error {
	const positive = "must be positive (0 takes the default)"
	checks := []struct {
		ok    bool
		field string
		value any
		want  string
	}{
		{c.Workers > 0, "Workers", c.Workers, positive},
		{c.PollInterval > 0, "PollInterval", c.PollInterval, positive},
		{c.LockDuration > 0, "LockDuration", c.LockDuration, positive},
		{c.BatchSize > 0, "BatchSize", c.BatchSize, positive},
		{c.MaxRetries >= NoRetries && c.MaxRetries <= MaxRetriesLimit, "MaxRetries", c.MaxRetries,
			fmt.Sprintf("must be a count of retries up to %d, 0 for the default or NoRetries (-1) for none", MaxRetriesLimit)},
		{c.MaxPayloadSize > 0, "MaxPayloadSize", c.MaxPayloadSize, positive},
		{c.ShutdownTimeout > 0, "ShutdownTimeout", c.ShutdownTimeout, positive},
	}
	for _, check := range checks {
		if !check.ok {
			return fmt.Errorf("%w: Config.%s = %v %s", ErrInvalidConfig, check.field, check.value, check.want)
		}
	}
	if c.PostgresDSN != "" {
		// A DSN that does not parse is a mistake to fix, not an outage to
		// wait out (see ErrUnavailable).
		if err := pgdriver.CheckDSN(c.PostgresDSN); err != nil {
			return fmt.Errorf("%w: PostgresDSN (PB_JOBS_POSTGRES_DSN): %w", ErrInvalidConfig, err)
		}
	}
	for _, topic := range c.AllowedTopics {
		if strings.TrimSpace(topic) == "" {
			return fmt.Errorf("%w: Config.AllowedTopics holds an empty topic", ErrInvalidConfig)
		}
	}
	return nil
}

// fillDefault sets *v to def when it is zero.
func fillDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
