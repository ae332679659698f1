package jobs

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// enqueueBodyHeadroom is what the enqueue body may hold besides twice
// MaxPayloadSize: the other members and some whitespace.
const enqueueBodyHeadroom = 64 << 10

// enqueueBodyLimit returns the largest enqueue body read, in bytes: twice
// maxPayload (a payload is measured compacted, and a client may send it
// indented) plus enqueueBodyHeadroom. A longer body is refused with 413
// (see readJSONBody).
func enqueueBodyLimit(maxPayload int64) int64 {
	if maxPayload > (math.MaxInt64-enqueueBodyHeadroom)/2 {
		return math.MaxInt64
	}
	return 2*maxPayload + enqueueBodyHeadroom
}

// rfc3339DateTime matches the form of an RFC 3339 date-time, with a space
// allowed in place of the "T" (RFC 3339, section 5.6), which makes it
// PocketBase's date form too. time.Parse checks the ranges of the date and
// time fields but not this form: alone, it accepts a one-digit hour, a
// decimal comma and zone offsets such as +24:00 and +23:60.
var rfc3339DateTime = regexp.MustCompile(
	`^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$`)

// enqueueRequest is a decoded POST /api/jobs/enqueue body.
type enqueueRequest struct {
	topic   string
	payload json.RawMessage
	opts    JobEnqueueOptions
}

// enqueueMember is a member an enqueue body may have, with the function that
// checks its JSON and decodes it into the request. raw is nil when the body
// lacks the member.
type enqueueMember struct {
	name   string
	decode func(raw json.RawMessage, req *enqueueRequest) error
}

// enqueueMembers are the members an enqueue body may have; any other member
// is refused.
var enqueueMembers = []enqueueMember{
	{"topic", decodeTopic},
	{"payload", decodePayload},
	{"run_at", decodeRunAt},
	{"max_retries", decodeMaxRetries},
	{"priority", decodePriority},
	{"unique_key", decodeUniqueKey},
}

// maxUnknownMembersListed is the most unknown members a refusal lists:
// enough for any honest mistake, few enough that a body of many tiny
// members cannot make a response many times its size.
const maxUnknownMembersListed = 10

// enqueueBodyKey is the key of the request event's store under which the
// enqueue route keeps its body once it is read.
const enqueueBodyKey = "pbJobsEnqueueBody"

// handleEnqueue enqueues the job of the request body and answers with it.
func (p *plugin) handleEnqueue(e *core.RequestEvent) error {
	body, err := p.enqueueBody(e)
	if err != nil {
		return err
	}
	req, err := decodeEnqueueRequest(body)
	if err != nil {
		return err
	}
	if err := p.checkTopicAllowed(req.topic); err != nil {
		return err
	}
	job, err := GetJobStore(e.App).EnqueueWithOptions(req.topic, req.payload, &req.opts)
	return respondJSON(e, job, err)
}

// enqueueRuleBody is the bodySource of the enqueue route: EnqueueRule sees
// the members the enqueue decodes.
func (p *plugin) enqueueRuleBody(e *core.RequestEvent) (map[string]any, error) {
	body, err := p.enqueueBody(e)
	if err != nil {
		return nil, err
	}
	return decodeJSONObject[any](body)
}

// enqueueBody returns the body of the enqueue request e. The first call, by
// EnqueueRule or by the handler, reads it, capped at enqueueBodyLimit; later
// calls return what it read.
func (p *plugin) enqueueBody(e *core.RequestEvent) ([]byte, error) {
	if body, ok := e.Get(enqueueBodyKey).([]byte); ok {
		return body, nil
	}
	body, err := readJSONBody(e.Response, e.Request, enqueueBodyLimit(p.config.MaxPayloadSize))
	if err != nil {
		return nil, err
	}
	e.Set(enqueueBodyKey, body)
	return body, nil
}

// checkTopicAllowed refuses a topic outside a non-empty
// Config.AllowedTopics.
func (p *plugin) checkTopicAllowed(topic string) error {
	if len(p.config.AllowedTopics) == 0 || slices.Contains(p.config.AllowedTopics, topic) {
		return nil
	}
	return fmt.Errorf("%w: %q", ErrTopicNotAllowed, topic)
}

// decodeEnqueueRequest checks and decodes an enqueue body, a JSON object.
// Its members are looked up by their exact names, as the rule engine's
// @request.body.* does, so a rule and the enqueue always see the same
// values; a member outside enqueueMembers is refused, so a misspelt option
// is never silently dropped.
func decodeEnqueueRequest(body []byte) (*enqueueRequest, error) {
	members, err := decodeJSONObject[json.RawMessage](body)
	if err != nil {
		return nil, err
	}
	req := &enqueueRequest{}
	errs := validation.Errors{}
	for _, m := range enqueueMembers {
		errs[m.name] = m.decode(members[m.name], req)
	}
	for _, name := range unknownMembers(members) {
		errs[name] = errUnknownMember
	}
	if err := errs.Filter(); err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidBody, err)
	}
	return req, nil
}

// unknownMembers returns the names of the members outside enqueueMembers,
// sorted, at most maxUnknownMembersListed of them.
func unknownMembers(members map[string]json.RawMessage) []string {
	var unknown []string
	for name := range members {
		if !isEnqueueMember(name) {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	return unknown[:min(len(unknown), maxUnknownMembersListed)]
}

// isEnqueueMember tells whether name is one of enqueueMembers.
func isEnqueueMember(name string) bool {
	return slices.ContainsFunc(enqueueMembers, func(m enqueueMember) bool { return m.name == name })
}

// Errors of the members of an enqueue body, as they appear in the "data" of
// the error response.
var (
	errNotString  = validation.NewError("validation_invalid_type", "must be a string")
	errNotInteger = validation.NewError("validation_invalid_type", "must be an integer")
	errBadRunAt   = validation.NewError("validation_invalid_date",
		`must be an RFC 3339 date or a PocketBase date ("2006-01-02 15:04:05.000Z")`)
	errNegativeRetries = validation.NewError("validation_min_greater_equal_than_required",
		"must be no less than 0")
	errUnknownMember = validation.NewError("validation_unknown_member", "unknown member")
)

// decodeMember decodes raw, the JSON of a member, into dst. A missing member
// (nil raw) or a JSON null leaves dst as it is.
func decodeMember(raw json.RawMessage, dst any, typeErr error) error {
	if raw == nil {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return typeErr // raw is valid JSON: the error is its type (or range)
	}
	return nil
}

// decodeTopic requires a string that is not blank.
func decodeTopic(raw json.RawMessage, req *enqueueRequest) error {
	if err := decodeMember(raw, &req.topic, errNotString); err != nil {
		return err
	}
	if strings.TrimSpace(req.topic) == "" {
		return validation.ErrRequired
	}
	return nil
}

// decodePayload takes any JSON as it is; the store checks and compacts it.
func decodePayload(raw json.RawMessage, req *enqueueRequest) error {
	req.payload = raw
	return nil
}

// decodeRunAt accepts an RFC 3339 date-time, or one with a space for the
// "T" (PocketBase's form); a missing, null or empty run_at runs the job
// now.
func decodeRunAt(raw json.RawMessage, req *enqueueRequest) error {
	var s string
	if err := decodeMember(raw, &s, errNotString); err != nil || s == "" {
		return err
	}
	if !rfc3339DateTime.MatchString(s) {
		return errBadRunAt
	}
	t, err := time.Parse(time.RFC3339, strings.ToUpper(s[:10]+"T"+s[11:]))
	if err != nil {
		return errBadRunAt // a field out of range, such as a 13th month
	}
	req.opts.RunAt = t
	return nil
}

// decodeMaxRetries maps max_retries to JobEnqueueOptions.MaxRetries: missing
// or null takes Config.MaxRetries, 0 means no retries.
func decodeMaxRetries(raw json.RawMessage, req *enqueueRequest) error {
	var n *int
	if err := decodeMember(raw, &n, errNotInteger); err != nil {
		return err
	}
	switch {
	case n == nil:
	case *n < 0:
		return errNegativeRetries
	case *n == 0:
		req.opts.MaxRetries = NoRetries
	default:
		req.opts.MaxRetries = *n
	}
	return nil
}

// decodePriority maps priority to JobEnqueueOptions.Priority: an integer
// (the store checks its range); missing or null is 0.
func decodePriority(raw json.RawMessage, req *enqueueRequest) error {
	return decodeMember(raw, &req.opts.Priority, errNotInteger)
}

// decodeUniqueKey maps unique_key to JobEnqueueOptions.UniqueKey: a string;
// missing, null or "" is none.
func decodeUniqueKey(raw json.RawMessage, req *enqueueRequest) error {
	return decodeMember(raw, &req.opts.UniqueKey, errNotString)
}
