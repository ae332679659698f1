package pgdriver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// execModeSetting is the DSN setting of pgx that chooses how statements are
// sent. A DSN that names it keeps its choice.
const execModeSetting = "default_query_exec_mode"

// backendSQL asks for the process id of the server connection's backend.
const backendSQL = `SELECT pg_backend_pid()`

// Limits of the pooler probe. Through a pooler whose pool the probe itself
// exhausts its second read would wait forever; a pooler's choice of server
// connection can hide it in one round, seldom in several.
const (
	probeLimit  = 5 * time.Second
	probeRounds = 5
)

// pooledByTransaction reports whether the connections of cfg reach
// PostgreSQL through a pooler that hands server connections from client
// to client at the end of each transaction (PgBouncer's
// pool_mode=transaction). Session state does not follow a client there:
// prepared statements and LISTEN. Directly or through session pooling a
// connection keeps one backend, which no other connection shares; so in
// rounds it asks a first connection for its backend, holds a transaction
// open on a second one (PgBouncer hands it the server connection released
// last, the first one's), and takes either the second one on the same
// backend, or the first one on another backend or waiting for it, as
// proof.
func pooledByTransaction(ctx context.Context, cfg *pgx.ConnConfig) (bool, error) {
	connect := func() (*pgx.Conn, error) {
		c := cfg.Copy()
		c.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol // the probe prepares nothing
		return pgx.ConnectConfig(ctx, c)
	}
	first, err := connect()
	if err != nil {
		return false, err
	}
	defer first.Close(context.Background())
	second, err := connect()
	if err != nil {
		return false, err
	}
	defer second.Close(context.Background())
	for range probeRounds {
		pooled, err := probeRound(ctx, first, second)
		if err != nil {
			return false, fmt.Errorf("probe for a pooler: %w", err)
		}
		if pooled {
			return true, nil
		}
	}
	return false, nil
}

// probeRound is one round of pooledByTransaction's probe.
func probeRound(ctx context.Context, first, second *pgx.Conn) (bool, error) {
	var before, held, after uint32
	if err := first.QueryRow(ctx, backendSQL).Scan(&before); err != nil {
		return false, err
	}
	tx, err := second.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback(context.Background()) }() // it changed nothing
	if err := tx.QueryRow(ctx, backendSQL).Scan(&held); err != nil {
		return false, err
	}
	if held == before {
		return true, nil
	}
	readCtx, cancel := context.WithTimeout(ctx, probeLimit)
	defer cancel()
	err = first.QueryRow(readCtx, backendSQL).Scan(&after)
	switch {
	case err == nil:
		return after != before, nil
	case ctx.Err() == nil && errors.Is(readCtx.Err(), context.DeadlineExceeded):
		// Only a pooler makes a session wait for another's transaction.
		return true, nil
	default:
		return false, err
	}
}

// namesExecMode reports whether dsn chooses pgx's query exec mode itself.
func namesExecMode(dsn string) bool {
	return strings.Contains(dsn, execModeSetting)
}
