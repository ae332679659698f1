package jobs

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// requireRule returns the middleware that guards a route with rule: a
// superuser always passes, anyone else passes when the rule holds for the
// request ("" holds for no one). A refused request without auth gets 401,
// one with auth 403.
func requireRule(rule string) *hook.Handler[*core.RequestEvent] {
	return &hook.Handler[*core.RequestEvent]{
		Func: func(e *core.RequestEvent) error {
			if e.HasSuperuserAuth() {
				return e.Next()
			}
			ok, err := requestSatisfies(e, rule)
			if err != nil {
				return err
			}
			if ok {
				return e.Next()
			}
			if e.Auth == nil {
				return e.UnauthorizedError("The request requires a valid authorization token.", nil)
			}
			return e.ForbiddenError("The authorized record is not allowed to perform this action.", nil)
		},
	}
}

// requestSatisfies evaluates rule for the request of e. The request body is
// read only for a non-empty rule (it may use @request.body.*), so a request
// refused by an empty rule never has its body parsed.
func requestSatisfies(e *core.RequestEvent, rule string) (bool, error) {
	if rule == "" {
		return false, nil
	}
	info, err := e.RequestInfo()
	if err != nil {
		return false, fmt.Errorf("%w: %w", errInvalidBody, err)
	}
	return ruleHolds(e.App, rule, info)
}
