package pgdriver

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// WaitAnnounced returns once d has sent every notification it announced.
func WaitAnnounced(d *Driver) { d.announcer.wait() }

// ExplainClaim returns the plan a claim for p runs, in EXPLAIN's JSON
// format: the plan of the claim statement prepared and executed with the
// settings every claim is sent with.
func ExplainClaim(ctx context.Context, d *Driver, p driver.ClaimParams) (string, error) {
	return explainClaim(ctx, d, p, "FORMAT JSON")
}

// ExplainAnalyzeClaim runs a claim for p as ExplainClaim explains it, in a
// transaction it rolls back, and returns its plan with what each step did
// and read.
func ExplainAnalyzeClaim(ctx context.Context, d *Driver, p driver.ClaimParams) (string, error) {
	return explainClaim(ctx, d, p, "ANALYZE, BUFFERS, FORMAT JSON")
}

// explainClaim returns EXPLAIN's output, with options, of the claim for p,
// in a transaction it rolls back.
func explainClaim(ctx context.Context, d *Driver, p driver.ClaimParams, options string) (string, error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `SELECT `+claimSettings); err != nil {
		return "", err
	}
	if _, err := tx.Exec(ctx, `PREPARE explained_claim AS `+claimSQL); err != nil {
		return "", err
	}
	defer tx.Exec(context.Background(), `DEALLOCATE explained_claim`)
	// EXECUTE takes no bound parameters: p goes in as literals.
	var topics, limits, locks []string
	for _, topic := range p.Topics {
		topics = append(topics, quote(topic.Topic))
		limits = append(limits, strconv.Itoa(topic.Limit))
		locks = append(locks, quote(topic.LockedUntil.Format(time.RFC3339Nano)))
	}
	var plan string
	err = tx.QueryRow(ctx, fmt.Sprintf(`EXPLAIN (%s) EXECUTE explained_claim(%s,
		ARRAY[%s]::text[], ARRAY[%s]::integer[], ARRAY[%s]::timestamptz[], %d, 0)`,
		options, quote(p.Now.Format(time.RFC3339Nano)), strings.Join(topics, ", "), strings.Join(limits, ", "),
		strings.Join(locks, ", "), p.Limit)).Scan(&plan)
	return plan, err
}

// quote writes s as an SQL string literal.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// ExplainNextRunAt returns the plan of the NextRunAt statement for p, with
// the settings it is sent with, in EXPLAIN's text format.
func ExplainNextRunAt(ctx context.Context, d *Driver, p driver.NextRunAtParams) (string, error) {
	var lines []string
	err := d.withSettings(ctx, indexOrder, `EXPLAIN `+nextRunAtSQL, []any{p.Topics}, func(results pgx.BatchResults) error {
		rows, err := results.Query()
		if err != nil {
			return err
		}
		lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return strings.Join(lines, "\n"), err
}

// ExplainWaitingTopics returns the plan of the WaitingTopics statement, in
// EXPLAIN's text format.
func ExplainWaitingTopics(ctx context.Context, d *Driver, p driver.WaitingParams) (string, error) {
	rows, err := d.pool.Query(ctx, `EXPLAIN `+waitingTopicsSQL, ts(p.RunnableSince))
	if err != nil {
		return "", err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}

// Pool returns the connection pool d runs its statements on.
func Pool(d *Driver) *pgxpool.Pool { return d.pool }

// MigrateTo applies the schema versions newer than the recorded one, up to
// version, as Migrate does.
func MigrateTo(ctx context.Context, d *Driver, version int) error {
	return d.migrate(ctx, version)
}
