package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// Request bodies of the HTTP API. Only POST /api/jobs/enqueue takes one; it
// is read once, capped at its limit while it is read, by whichever of the
// route's rule and handler needs it first. The other routes never read
// theirs. A rule sees the body its route reads (see bodySource), never one
// PocketBase parses on its own.

// A bodySource returns the members of the request body that a route's rule
// sees as @request.body.*. Unless it fails, it takes the body off the
// request (see takeBody), so that core.RequestEvent.RequestInfo, which the
// rule reads the rest of the request from, finds no body to read or parse.
type bodySource func(e *core.RequestEvent) (map[string]any, error)

// noBody is the bodySource of the routes that take no body: their rule sees
// an empty body, and the body is dropped unread.
func noBody(e *core.RequestEvent) (map[string]any, error) {
	takeBody(e.Request)
	return map[string]any{}, nil
}

// takeBody returns the body of r and leaves r with an empty one.
func takeBody(r *http.Request) io.ReadCloser {
	body := r.Body
	r.Body, r.ContentLength = http.NoBody, 0
	return body
}

// readJSONBody takes the body of r, which must be at most limit bytes of
// UTF-8 sent as application/json. A body over the limit is
// ErrRequestEntityTooLarge (413), refused before it is read when its length
// is known, else as soon as the limit is passed; anything else wrong is
// errInvalidBody (400).
func readJSONBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, apis.ErrRequestEntityTooLarge
	}
	if !isJSONMediaType(r.Header.Get("Content-Type")) {
		return nil, fmt.Errorf("%w: the Content-Type must be application/json", errInvalidBody)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, takeBody(r), limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, apis.ErrRequestEntityTooLarge
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidBody, err)
	}
	if !utf8.Valid(body) {
		// encoding/json would replace the bad bytes, and store and show
		// something the client did not send.
		return nil, fmt.Errorf("%w: the body must be valid UTF-8", errInvalidBody)
	}
	return body, nil
}

// isJSONMediaType tells whether contentType, a Content-Type header, names
// the media type application/json, in any case and with any parameters.
func isJSONMediaType(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	return err == nil && mediaType == "application/json"
}

// decodeJSONObject decodes body, which must be a JSON object, into a map of
// its members. A rule sees the body as a map[string]any, the form
// PocketBase gives its own routes' rules; the enqueue decodes it as a
// map[string]json.RawMessage.
func decodeJSONObject[V any](body []byte) (map[string]V, error) {
	var members map[string]V
	if err := json.Unmarshal(body, &members); err != nil || members == nil {
		return nil, fmt.Errorf("%w: the body must be a JSON object", errInvalidBody)
	}
	return members, nil
}
