package pgdriver

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lostConnTracer empties the pool once a statement fails because its
// connection died: a server restart or a network cut kills every connection
// at once, but the pool only learns it one statement at a time, so without
// it each idle connection would fail one more statement after the server is
// back — a run of alternating failures and successes that looks like many
// outages. Statements whose own context ended are left out: pgx closes a
// connection whose statement was cancelled, and the others are fine.
type lostConnTracer struct {
	pool atomic.Pointer[pgxpool.Pool]
}

var (
	_ pgx.QueryTracer = (*lostConnTracer)(nil)
	_ pgx.BatchTracer = (*lostConnTracer)(nil)
)

// TraceQueryStart implements pgx.QueryTracer.
func (t *lostConnTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (t *lostConnTracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	t.check(ctx, conn, data.Err)
}

// TraceBatchStart implements pgx.BatchTracer.
func (t *lostConnTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

// TraceBatchQuery implements pgx.BatchTracer.
func (t *lostConnTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// TraceBatchEnd implements pgx.BatchTracer.
func (t *lostConnTracer) TraceBatchEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchEndData) {
	t.check(ctx, conn, data.Err)
}

// check resets the pool when err ended conn while ctx was still live.
func (t *lostConnTracer) check(ctx context.Context, conn *pgx.Conn, err error) {
	if err == nil || ctx.Err() != nil || !conn.IsClosed() {
		return
	}
	if pool := t.pool.Load(); pool != nil {
		pool.Reset()
	}
}
