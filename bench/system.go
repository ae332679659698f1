package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
)

// Databases the systems run on.
const (
	dbSQLite   = "sqlite"
	dbPostgres = "postgres"
)

// workers is the number of concurrent handlers every system is given.
const workers = 10

// topic is the topic (River: kind, goqite: job name) of every job.
const topic = "noop"

// noopArgs is the payload of every job of ours and River.
type noopArgs struct {
	N int `json:"n"`
}

// Kind is River's name for the job type.
func (noopArgs) Kind() string { return topic }

// payload is the JSON of every job: the encoding of noopArgs{N: 1}, which
// ours and River are handed as a value to encode.
var payload = []byte(`{"n":1}`)

// errNotApplicable marks a workload a system has no form of; its cell
// reads "—".
var errNotApplicable = errors.New("not applicable")

// unavailableError marks a system that cannot run on this build or server;
// its cells read "n/a".
type unavailableError struct{ err error }

func (e unavailableError) Error() string { return e.err.Error() }
func (e unavailableError) Unwrap() error { return e.err }

// target is where a system keeps its jobs: a fresh database of its own.
type target struct {
	// dir is an empty directory for SQLite files (and PocketBase's pb_data).
	dir string
	// dsn is a fresh PostgreSQL database; empty on SQLite.
	dsn string
}

// queue is one system under test, opened on a target.
type queue interface {
	// enqueue adds one no-op job.
	enqueue(ctx context.Context) error
	// enqueueBatch adds n no-op jobs with one call of the system's batch API.
	enqueueBatch(ctx context.Context, n int) error
	// start begins working jobs with `workers` handlers; each handler calls
	// run when it starts. run may block, and a handler returns after it.
	start(ctx context.Context, run func()) error
	// stop stops working and waits for the system's workers.
	stop(ctx context.Context) error
	// completeAll marks every job completed, as if it had run: the set-up of
	// the claim-cost workload. errNotApplicable when the system keeps no
	// completed jobs.
	completeAll(ctx context.Context) error
	// close releases the database; it stops the workers first if needed.
	close() error
}

// foreignQueue is a queue whose table may also hold jobs of a topic that
// none of its handlers takes, and whose claims pass them by.
type foreignQueue interface {
	queue
	// enqueueForeignBatch adds n no-op jobs of such a topic with one call
	// of the system's batch API.
	enqueueForeignBatch(ctx context.Context, n int) error
}

// system is one column of the table.
type system struct {
	// id names the system on the command line and in child processes.
	id string
	// name is the column header.
	name string
	db   string
	open func(ctx context.Context, t target) (queue, error)
	// foreign tells that open returns a foreignQueue, so (e) also measures
	// the claim cost with a backlog of a foreign topic.
	foreign bool
	// skip lists workloads the system has no form of, or that are not
	// measured on it (their cells read "—"); remark says why, in the notes.
	skip   map[workload]bool
	remark string
}

// key identifies a system on one database.
func (s system) key() string { return s.db + "/" + s.id }

// systems lists every system of the benchmark, ours first on each database.
func systems() []system {
	rawSkip := map[workload]bool{wPickup: true, wRSS: true}
	const rawRemark = "a floor, not a queue: no wake-up (so no (d)) and no process of its own worth measuring (so no (f))"
	return []system{
		{id: "ours", name: "pocketbase-jobs", db: dbSQLite, open: openOurs, foreign: true},
		{id: "river", name: "River", db: dbSQLite, open: openRiverSQLite(false),
			skip: map[workload]bool{wClaimCost: true}, remark: riverDefaultRemark},
		{id: "river-tuned", name: "River tuned", db: dbSQLite, open: openRiverSQLite(true),
			skip: map[workload]bool{wRSS: true}, remark: "(f) is measured on River with default settings: the fetch settings do not change what it holds"},
		{id: "goqite", name: "goqite", db: dbSQLite, open: openGoqite,
			skip: map[workload]bool{wClaimCost: true}, remark: "no (e): goqite deletes a message once its job has run, so its table never holds completed jobs"},
		{id: "raw1", name: "raw SQL, 1/stmt", db: dbSQLite, open: openRawSQLite(1), skip: rawSkip, remark: rawRemark},
		{id: "raw100", name: "raw SQL, 100/stmt", db: dbSQLite, open: openRawSQLite(100),
			skip: map[workload]bool{wEnqueue: true, wPickup: true, wRSS: true}, remark: rawRemark + "; (a) is one job per statement by definition"},

		{id: "ours", name: "pocketbase-jobs", db: dbPostgres, open: openOurs, foreign: true},
		{id: "river", name: "River", db: dbPostgres, open: openRiverPostgres(false),
			skip: map[workload]bool{wClaimCost: true}, remark: riverDefaultRemark},
		{id: "river-tuned", name: "River tuned", db: dbPostgres, open: openRiverPostgres(true),
			skip: map[workload]bool{wRSS: true}, remark: "(f) is measured on River with default settings: the fetch settings do not change what it holds"},
		{id: "raw1", name: "raw SQL, 1/stmt", db: dbPostgres, open: openRawPostgres(1), skip: rawSkip, remark: rawRemark},
		{id: "raw100", name: "raw SQL, 100/stmt", db: dbPostgres, open: openRawPostgres(100),
			skip: map[workload]bool{wEnqueue: true, wPickup: true, wRSS: true}, remark: rawRemark + "; (a) is one job per statement by definition"},
	}
}

// riverDefaultRemark explains why River with default settings has no (e).
const riverDefaultRemark = "no (e) with default settings: the 100 ms FetchCooldown caps 10 workers at about 100 jobs/s, " +
	"which would hide the claim cost (River tuned measures it)"

// findSystem returns the system with the given key.
func findSystem(key string) (system, error) {
	for _, s := range systems() {
		if s.key() == key {
			return s, nil
		}
	}
	return system{}, fmt.Errorf("unknown system %q", key)
}

// sqlitePragmas are PocketBase's own connection settings, used by every
// SQLite system so that they all run on the same footing.
const sqlitePragmas = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)" +
	"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)"

// openSQLite opens file in dir with PocketBase's pure-Go SQLite driver and
// settings, on a single connection: SQLite has one writer at a time, and the
// peers recommend one connection to avoid SQLITE_BUSY.
func openSQLite(dir, file string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, file)+sqlitePragmas)
	if err != nil {
		return nil, fmt.Errorf("open SQLite: %w", err)
	}
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open SQLite: %w", err)
	}
	return db, nil
}

// handlerFunc holds the run callback of a started queue, read by handlers
// that were registered before start.
type handlerFunc struct{ fn atomic.Pointer[func()] }

func (h *handlerFunc) set(run func()) { h.fn.Store(&run) }

func (h *handlerFunc) call() {
	if fn := h.fn.Load(); fn != nil {
		(*fn)()
	}
}
