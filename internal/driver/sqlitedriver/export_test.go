package sqlitedriver

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/pocketbase/dbx"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// ExplainClaim returns SQLite's plan of the claim statement for p, one
// detail line per step, each indented by its depth in the plan.
func ExplainClaim(ctx context.Context, d *Driver, p driver.ClaimParams) (string, error) {
	db, ok := d.write.(*dbx.DB)
	if !ok {
		return "", errors.New("explain the claim of a driver bound to a transaction")
	}
	rows, err := db.DB().QueryContext(ctx, `EXPLAIN QUERY PLAN `+claimSQL(len(p.Topics)), claimArgs(p)...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var steps []planStep
	for rows.Next() {
		var s planStep
		var unused int
		if err := rows.Scan(&s.ID, &s.Parent, &unused, &s.Detail); err != nil {
			return "", err
		}
		steps = append(steps, s)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return planText(steps), nil
}

// ExplainNextRunAt returns SQLite's plan of the NextRunAt statement for p.
func ExplainNextRunAt(ctx context.Context, d *Driver, p driver.NextRunAtParams) (string, error) {
	encoded, err := json.Marshal(p.Topics)
	if err != nil {
		return "", err
	}
	return explain(ctx, d, nextRunAtSQL, dbx.Params{"topics": string(encoded)})
}

// ExplainWaitingTopics returns SQLite's plan of the WaitingTopics statement.
func ExplainWaitingTopics(ctx context.Context, d *Driver, p driver.WaitingParams) (string, error) {
	return explain(ctx, d, waitingTopicsSQL, dbx.Params{"since": micros(p.RunnableSince)})
}

// ExplainStats returns SQLite's plan of the Stats statement.
func ExplainStats(ctx context.Context, d *Driver) (string, error) {
	return explain(ctx, d, statsSQL, nil)
}

// planStep is one row of EXPLAIN QUERY PLAN.
type planStep struct {
	ID     int    `db:"id"`
	Parent int    `db:"parent"`
	Detail string `db:"detail"`
}

// explain returns SQLite's plan of sql with params, one detail line per
// step, each indented by its depth in the plan.
func explain(ctx context.Context, d *Driver, sql string, params dbx.Params) (string, error) {
	var steps []planStep
	err := d.write.NewQuery(`EXPLAIN QUERY PLAN ` + sql).WithContext(ctx).Bind(params).All(&steps)
	if err != nil {
		return "", err
	}
	return planText(steps), nil
}

// planText is steps, one detail line per step, each indented by its depth
// in the plan.
func planText(steps []planStep) string {
	depth := map[int]int{0: -1}
	lines := make([]string, len(steps))
	for i, s := range steps {
		depth[s.ID] = depth[s.Parent] + 1
		lines[i] = strings.Repeat("  ", depth[s.ID]) + s.Detail
	}
	return strings.Join(lines, "\n")
}

// MigrateTo applies the schema versions newer than the recorded one, up to
// version, as Migrate does.
func MigrateTo(ctx context.Context, d *Driver, version int) error {
	return d.migrate(ctx, version)
}
