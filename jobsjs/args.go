package jobsjs

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dop251/goja"
	"github.com/pocketbase-jobs/jobs"
)

// ErrInvalidArgument reports an argument of a $jobs call of the wrong type,
// such as a number where a job id (a string) belongs.
var ErrInvalidArgument = errors.New("invalid argument")

// text returns v, the argument named what, as a string: "" when it is left
// out (the store then reports what is missing), else it must be a string.
func text(v goja.Value, what string) (string, error) {
	if isAbsent(v) {
		return "", nil
	}
	s, ok := v.Export().(string)
	if !ok {
		return "", fmt.Errorf("%w: %s must be a string, not %s", ErrInvalidArgument, what, typeOf(v))
	}
	return s, nil
}

// enqueueOptions reads the options of $jobs.enqueue: an object whose
// members are runAt (a Date or an RFC 3339 string), maxRetries (0 means no
// retries, as max_retries in the HTTP API), priority and uniqueKey; a
// member left out, null or undefined takes its default. Any other member is
// ErrInvalidOptions: a mistyped name is never ignored.
func enqueueOptions(v goja.Value) (*jobs.JobEnqueueOptions, error) {
	opts := &jobs.JobEnqueueOptions{}
	err := eachMember(v, jobs.ErrInvalidOptions, map[string]func(goja.Value) error{
		"runAt": func(m goja.Value) (err error) {
			opts.RunAt, err = timeOf(m)
			return err
		},
		"maxRetries": func(m goja.Value) error {
			n, err := integer(m, "maxRetries")
			switch {
			case err != nil:
				return err
			case n < 0:
				return fmt.Errorf("maxRetries must not be negative (0 means no retries)")
			case n == 0:
				opts.MaxRetries = jobs.NoRetries
			default:
				opts.MaxRetries = n
			}
			return nil
		},
		"priority": func(m goja.Value) (err error) {
			opts.Priority, err = integer(m, "priority")
			return err
		},
		"uniqueKey": func(m goja.Value) (err error) {
			opts.UniqueKey, err = text(m, "uniqueKey")
			return err
		},
	})
	if err != nil {
		return nil, err
	}
	return opts, nil
}

// listFilter reads the filter of $jobs.list: an object whose members are
// topic, status, limit and offset, as the query of GET /api/jobs. Any other
// member is ErrInvalidFilter.
func listFilter(v goja.Value) (*jobs.JobFilter, error) {
	f := &jobs.JobFilter{}
	err := eachMember(v, jobs.ErrInvalidFilter, map[string]func(goja.Value) error{
		"topic": func(m goja.Value) (err error) {
			f.Topic, err = text(m, "topic")
			return err
		},
		"status": func(m goja.Value) (err error) {
			f.Status, err = text(m, "status")
			return err
		},
		"limit": func(m goja.Value) (err error) {
			f.Limit, err = integer(m, "limit")
			return err
		},
		"offset": func(m goja.Value) (err error) {
			f.Offset, err = integer(m, "offset")
			return err
		},
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// eachMember calls read for each member of the object v that is not null
// or undefined, with the member's value. v may be left out (no members);
// anything but an object, a member read does not know, and an error of
// read are errors wrapping sentinel.
func eachMember(v goja.Value, sentinel error, read map[string]func(goja.Value) error) error {
	if isAbsent(v) {
		return nil
	}
	obj, ok := v.(*goja.Object)
	if !ok || typeOf(v) != "object" {
		return fmt.Errorf("%w: expected an object, not %s", sentinel, typeOf(v))
	}
	for _, name := range obj.Keys() {
		readMember, known := read[name]
		if !known {
			return fmt.Errorf("%w: unknown member %q", sentinel, name)
		}
		m := obj.Get(name)
		if isAbsent(m) {
			continue
		}
		if err := readMember(m); err != nil {
			return fmt.Errorf("%w: %w", sentinel, err)
		}
	}
	return nil
}

// timeOf reads a time: a Date, a Go time (such as a record's date field), or
// an RFC 3339 string, with "T" or a space between date and time.
func timeOf(v goja.Value) (time.Time, error) {
	switch x := v.Export().(type) {
	case time.Time:
		return x, nil
	case interface{ Time() time.Time }: // PocketBase's types.DateTime
		return x.Time(), nil
	case string:
		t, err := time.Parse(time.RFC3339Nano, strings.Replace(x, " ", "T", 1))
		if err != nil {
			return time.Time{}, fmt.Errorf("runAt %q is not an RFC 3339 date-time", x)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("runAt must be a Date or a string, not %s", typeOf(v))
}

// integer reads v, the member named what, as an int: a number without a
// fraction.
func integer(v goja.Value, what string) (int, error) {
	switch x := v.Export().(type) {
	case int64:
		if x >= math.MinInt && x <= math.MaxInt {
			return int(x), nil
		}
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt && x <= math.MaxInt {
			return int(x), nil
		}
	default:
		return 0, fmt.Errorf("%s must be a number, not %s", what, typeOf(v))
	}
	return 0, fmt.Errorf("%s must be an integer, not %s", what, v)
}

// typeOf returns what JavaScript's typeof says of v.
func typeOf(v goja.Value) string {
	switch {
	case v == nil || goja.IsUndefined(v):
		return "undefined"
	case goja.IsNull(v):
		return "null"
	}
	if _, ok := goja.AssertFunction(v); ok {
		return "function"
	}
	switch v.Export().(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64, float64:
		return "number"
	}
	return "object"
}

// errorOf returns the Go error v holds, or an error whose text is v's
// errorText.
func errorOf(v goja.Value) error {
	if err, ok := v.Export().(error); ok {
		return err
	}
	return errors.New(errorText(v))
}

// errorText returns the text of a thrown (or returned) JavaScript value: an
// Error's message, after its name when that is not plain "Error"
// ("TypeError: x is not a function"), and any other value's text. It reads
// only the value's own data (and its prototype's name), never running
// JavaScript, so it may be called once the runtime that threw the value runs
// something else.
func errorText(v goja.Value) string {
	obj, ok := v.(*goja.Object)
	if !ok {
		return v.String()
	}
	message, ok := stringMember(obj, "message")
	if !ok {
		return "the handler threw a value that is not an Error"
	}
	if name, ok := stringMember(obj, "name"); ok && name != "" && name != "Error" {
		return name + ": " + message
	}
	return message
}

// stringMember returns obj's member name when it is a string.
func stringMember(obj *goja.Object, name string) (string, bool) {
	v := obj.Get(name)
	if v == nil {
		return "", false
	}
	s, ok := v.Export().(string)
	return s, ok
}
