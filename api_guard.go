package jobs

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// requireRule returns the middleware that guards a route with rule: a
// superuser always passes, anyone else passes when the rule holds for the
// request ("" holds for no one). body gives what the rule sees of the
// request body. A refused request without auth gets 401, one with auth 403.
func requireRule(rule string, body bodySource) *hook.Handler[*core.RequestEvent] {
	return &hook.Handler[*core.RequestEvent]{
		Func: func(e *core.RequestEvent) error {
			if e.HasSuperuserAuth() {
				return e.Next()
			}
			ok, err := requestSatisfies(e, rule, body)
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

// requestSatisfies evaluates rule for the request of e, with body as the
// source of @request.body.*. The body is read only for a non-empty rule, so
// a request refused by an empty rule never has its body read.
func requestSatisfies(e *core.RequestEvent, rule string, body bodySource) (bool, error) {
	if rule == "" {
		return false, nil
	}
	members, err := body(e)
	if err != nil {
		return false, err
	}
	info, err := e.RequestInfo() // finds no body: body took it
	if err != nil {
		return false, fmt.Errorf("request info: %w", err)
	}
	ruleInfo := *info // a copy: PocketBase's cached info keeps its own body
	ruleInfo.Body = members
	return ruleHolds(e.App, rule, &ruleInfo)
}
