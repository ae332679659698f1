package jobs

import (
	"errors"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"net/http"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// errInvalidBody reports a request body the HTTP API cannot use: not JSON,
// not an object, or with members of the wrong type or value.
var errInvalidBody = errors.New("invalid request body")

// errorStatuses gives the HTTP status of each error a route may return; the
// first match (errors.Is) wins. The response message is the error's text.
var errorStatuses = []struct {
	err    error
	status int
}{
	{ErrNotFound, http.StatusNotFound},
	{ErrCannotRequeue, http.StatusConflict},
	{ErrCannotDelete, http.StatusConflict},
	{ErrCannotCancel, http.StatusConflict},
	{ErrPayloadTooLarge, http.StatusRequestEntityTooLarge},
	{ErrTopicNotAllowed, http.StatusForbidden},
	{errInvalidBody, http.StatusBadRequest},
	{ErrEmptyTopic, http.StatusBadRequest},
	{ErrInvalidTopic, http.StatusBadRequest},
	{ErrInvalidPayload, http.StatusBadRequest},
	{ErrRejected, http.StatusBadRequest},
	{ErrInvalidOptions, http.StatusBadRequest},
	{ErrInvalidFilter, http.StatusBadRequest},
	{ErrNotReady, http.StatusServiceUnavailable},
	{ErrUnavailable, http.StatusServiceUnavailable},
}

// mapErrors is the middleware of every route that turns the error of the
// rest of the chain into PocketBase's error JSON with the right status.
func mapErrors(e *core.RequestEvent) error {
	if err := e.Next(); err != nil {
		return toAPIError(err)
	}
	return nil
}

// toAPIError converts err to the API error to answer with. An *ApiError
// anywhere in err's chain is kept as it is (e.g. 413 from the body limit);
// validation errors in the chain become the response's "data"; an error
// without a known status is a 500 whose text stays in the logs only.
func toAPIError(err error) *router.ApiError {
	var apiErr *router.ApiError
	if errors.As(err, &apiErr) {
		return apiErr
	}
	for _, s := range errorStatuses {
		if errors.Is(err, s.err) {
			return router.NewApiError(s.status, err.Error(), fieldErrors(err))
		}
	}
	return router.NewInternalServerError("", err)
}

// fieldErrors returns the per-member validation errors in err's chain, for
// the response's "data", as a plain map[string]error: the one form every
// PocketBase version renders (newer versions use a fork of the validation
// package, whose Errors type is not this one), or nil.
func fieldErrors(err error) any {
	var fields validation.Errors
	if errors.As(err, &fields) {
		return map[string]error(fields)
	}
	return nil
}
