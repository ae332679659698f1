package jobs

import (
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/search"
)

// A rule of the HTTP API (Config.EnqueueRule, Config.ManageRule) is a
// PocketBase filter expression, like a collection API rule, but it guards a
// route instead of a collection's records. It is evaluated by PocketBase's own
// resolver (core.RecordFieldResolver) as the WHERE clause of a query over one
// constant row, a CTE named ruleTable: the rule holds when that row is
// selected. @request.* fields resolve to the request's data, and
// @collection.* and @request.auth.* joins attach to the constant row as they
// attach to a record in a collection rule. A rule has no record of its own,
// so bare field names are errors.

// ruleTable names the one-row table a rule is evaluated against. It is also
// the name of the rule's stand-in collection, so it must be a plain
// identifier that no real collection uses.
const ruleTable = "__pbJobsRule__"

// ruleCollection returns the stand-in collection of rules: it has no fields,
// so @request.body.* always resolves to the submitted values.
func ruleCollection() *core.Collection {
	c := &core.Collection{}
	c.Id = ruleTable
	c.Name = ruleTable
	c.Type = core.CollectionTypeBase
	return c
}

// ruleHolds evaluates the non-empty rule for the request described by info.
// An error means the rule cannot be evaluated against the current
// collections, e.g. it names a collection that was deleted.
func ruleHolds(app core.App, rule string, info *core.RequestInfo) (bool, error) {
	query, err := ruleQuery(app, rule, info)
	if err != nil {
		return false, err
	}
	var found int
	err = query.Row(&found)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("evaluate rule %q: %w", rule, err)
	}
	return true, nil
}

// ruleQuery builds the query that selects the constant row when rule holds
// for info.
func ruleQuery(app core.App, rule string, info *core.RequestInfo) (*dbx.SelectQuery, error) {
	resolver := core.NewRecordFieldResolver(app, ruleCollection(), info, true)
	expr, err := search.FilterData(rule).BuildExpr(resolver)
	if err != nil {
		return nil, fmt.Errorf("build rule %q: %w", rule, err)
	}
	query := app.ConcurrentDB().
		Select("(1)").
		PreFragment("WITH {{" + ruleTable + "}} AS (SELECT '' AS [[id]])").
		From(ruleTable).
		AndWhere(expr).
		Limit(1)
	if err := resolver.UpdateQuery(query); err != nil {
		return nil, fmt.Errorf("join the collections of rule %q: %w", rule, err)
	}
	return query, nil
}

// validateRules checks Config.EnqueueRule and Config.ManageRule when the
// plugin is registered: their syntax, operators, functions and field names.
//
// It needs no database, so it runs before the app is bootstrapped. What only
// the schema can tell (whether an @collection.* collection and its fields
// exist) is checked when the app serves, after the migrations have run (see
// unresolvableRules); collections can change while the app runs, so that
// check logs instead of failing, and a rule that cannot be evaluated fails
// its requests with 500.
func validateRules(app core.App, config Config) error {
	for _, r := range configRules(config) {
		if err := validateRule(app, r.rule); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidConfig, r.name, err)
		}
	}
	return nil
}

// namedRule is a rule with the Config field (and variable) it comes from.
type namedRule struct {
	name string
	rule string
}

// configRules lists the rules of config.
func configRules(config Config) []namedRule {
	return []namedRule{
		{"EnqueueRule (PB_JOBS_ENQUEUE_RULE)", config.EnqueueRule},
		{"ManageRule (PB_JOBS_MANAGE_RULE)", config.ManageRule},
	}
}

// validateRule builds rule with a resolver that needs no database. An empty
// rule is valid (superusers only).
func validateRule(app core.App, rule string) error {
	if rule == "" {
		return nil
	}
	resolver := syntaxResolver{core.NewRecordFieldResolver(app, ruleCollection(), &core.RequestInfo{}, true)}
	if _, err := search.FilterData(rule).BuildExpr(resolver); err != nil {
		return fmt.Errorf("rule %q: %w", rule, err)
	}
	return nil
}

// collectionField matches an @collection field: a collection name or id, an
// optional :alias, and a field path.
var collectionField = regexp.MustCompile(`^@collection\.\w+(:\w+)?\.[\w.:]*\w$`)

// syntaxResolver resolves the fields of a rule without a database, to check
// its syntax at registration. @collection.* fields are only checked for
// their shape; every other field goes to PocketBase's resolver, which, for an
// empty request, reads nothing from the database.
type syntaxResolver struct {
	*core.RecordFieldResolver
}

// Resolve implements search.FieldResolver.
func (r syntaxResolver) Resolve(field string) (*search.ResolverResult, error) {
	if !strings.HasPrefix(field, "@collection.") {
		return r.RecordFieldResolver.Resolve(field)
	}
	if !collectionField.MatchString(field) {
		return nil, fmt.Errorf("invalid @collection field %q", field)
	}
	return &search.ResolverResult{Identifier: "NULL"}, nil
}

// unresolvableRules returns an error for each rule that cannot be evaluated
// against the app's current collections, e.g. one naming a collection that
// does not exist.
func (p *plugin) unresolvableRules() []error {
	var errs []error
	for _, r := range configRules(p.config) {
		if r.rule == "" {
			continue
		}
		if _, err := ruleQuery(p.app, r.rule, &core.RequestInfo{}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.name, err))
		}
	}
	return errs
}
