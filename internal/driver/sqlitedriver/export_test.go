package sqlitedriver

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/pocketbase/dbx"

	"github.com/pocketbase-jobs/jobs/internal/driver"
)

// ExplainClaim returns SQLite's plan of the claim statement for p, one
// detail line per step, each indented by its depth in the plan.
func ExplainClaim(ctx context.Context, d *Driver, p driver.ClaimParams) (string, error) {
	return explain(ctx, d, claimSQL(len(p.Topics)), claimParams(p))
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

// explain returns SQLite's plan of sql with params, one detail line per
// step, each indented by its depth in the plan.
func explain(ctx context.Context, d *Driver, sql string, params dbx.Params) (string, error) {
	var steps []struct {
		ID     int    `db:"id"`
		Parent int    `db:"parent"`
		Detail string `db:"detail"`
	}
	err := d.write.NewQuery(`EXPLAIN QUERY PLAN ` + sql).WithContext(ctx).Bind(params).All(&steps)
	if err != nil {
		return "", err
	}
	depth := map[int]int{0: -1}
	lines := make([]string, len(steps))
	for i, s := range steps {
		depth[s.ID] = depth[s.Parent] + 1
		lines[i] = strings.Repeat("  ", depth[s.ID]) + s.Detail
	}
	return strings.Join(lines, "\n"), nil
}

// MigrateTo applies the schema versions newer than the recorded one, up to
// version, as Migrate does.
func MigrateTo(ctx context.Context, d *Driver, version int) error {
	return d.migrate(ctx, version)
}
