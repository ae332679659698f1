package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// connectionPeaks are the most connections seen at once.
type connectionPeaks struct {
	// workers counts the connections of the worker processes.
	workers int
	// all counts every connection to the database but the observer's.
	all int
}

// connectionsSQL counts the connections to this database by kind. The
// observer's own connections are left out.
const connectionsSQL = `SELECT count(*) FILTER (WHERE application_name = $1), count(*)
	FROM pg_stat_activity
	WHERE datname = current_database() AND application_name <> $2`

// sampleInterval is how often the connections are counted.
const sampleInterval = 50 * time.Millisecond

// connectionWatch samples the connections to one database on a goroutine of
// its own until stopped.
type connectionWatch struct {
	cancel context.CancelFunc
	done   chan struct{}
	peaks  connectionPeaks
}

// watchConnections connects to the database of dsn and samples its
// connections every sampleInterval.
func watchConnections(ctx context.Context, dsn string) (*connectionWatch, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect the connection watch: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &connectionWatch{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer conn.Close(context.Background())
		tick := time.NewTicker(sampleInterval)
		defer tick.Stop()
		for {
			var workers, all int
			err := conn.QueryRow(ctx, connectionsSQL, appWorker, appObserver).Scan(&workers, &all)
			if err != nil {
				if ctx.Err() == nil {
					fmt.Fprintln(os.Stderr, "warning: count the connections:", err)
				}
				return
			}
			w.peaks.workers, w.peaks.all = max(w.peaks.workers, workers), max(w.peaks.all, all)
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return w, nil
}

// stop ends the sampling and returns the peaks; it may be called again.
func (w *connectionWatch) stop() connectionPeaks {
	w.cancel()
	<-w.done
	return w.peaks
}
