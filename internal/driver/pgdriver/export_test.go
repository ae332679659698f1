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
	var plan string
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT `+claimSettings); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `PREPARE explained_claim AS `+claimSQL); err != nil {
			return err
		}
		defer tx.Exec(ctx, `DEALLOCATE explained_claim`)
		// EXECUTE takes no bound parameters: p goes in as literals.
		var topics, limits, locks []string
		for _, topic := range p.Topics {
			topics = append(topics, quote(topic.Topic))
			limits = append(limits, strconv.Itoa(topic.Limit))
			locks = append(locks, quote(topic.LockedUntil.Format(time.RFC3339Nano)))
		}
		return tx.QueryRow(ctx, fmt.Sprintf(`EXPLAIN (FORMAT JSON) EXECUTE explained_claim(%s,
			ARRAY[%s]::text[], ARRAY[%s]::integer[], ARRAY[%s]::timestamptz[], %d, 0)`,
			quote(p.Now.Format(time.RFC3339Nano)), strings.Join(topics, ", "), strings.Join(limits, ", "),
			strings.Join(locks, ", "), p.Limit)).Scan(&plan)
	})
	return plan, err
}

// quote writes s as an SQL string literal.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
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
