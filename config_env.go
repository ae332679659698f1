package jobs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// envPrefix starts the name of every environment variable of the plugin.
const envPrefix = "PB_JOBS_"

// envVariable is one PB_JOBS_* variable and how it sets its Config field.
type envVariable struct {
	name string
	// want says what a value must be, for the error about one that is not.
	want string
	// set parses value into the field and reports whether it could.
	set func(value string) bool
}

// envVariables is the one list of the plugin's PB_JOBS_* variables, each
// bound to its field of c: applyEnv reads these, and unknownEnv reports
// every other PB_JOBS_* variable.
func envVariables(c *Config) []envVariable {
	return []envVariable{
		variable("PB_JOBS_DISABLED", "true or false", &c.Disabled, parseBool),
		variable("PB_JOBS_WORKERS", "a positive integer", &c.Workers, parsePositive[int]),
		variable("PB_JOBS_POLL_INTERVAL", wantPositiveDuration, &c.PollInterval, parsePositiveDuration),
		variable("PB_JOBS_LOCK_DURATION", wantPositiveDuration, &c.LockDuration, parsePositiveDuration),
		variable("PB_JOBS_BATCH_SIZE", "a positive integer", &c.BatchSize, parsePositive[int]),
		variable("PB_JOBS_MAX_RETRIES", "a number of retries: 0 (none) or more", &c.MaxRetries, parseRetries),
		variable("PB_JOBS_MAX_PAYLOAD_SIZE", "a positive integer (bytes)", &c.MaxPayloadSize, parsePositive[int64]),
		variable("PB_JOBS_HTTP_ENABLED", "true or false", &c.HTTPEnabled, parseBool),
		variable("PB_JOBS_DASHBOARD_ENABLED", "true or false", &c.DashboardEnabled, parseBool),
		variable("PB_JOBS_ENQUEUE_RULE", "", &c.EnqueueRule, parseString),
		variable("PB_JOBS_MANAGE_RULE", "", &c.ManageRule, parseString),
		variable("PB_JOBS_ALLOWED_TOPICS", "", &c.AllowedTopics, parseList),
		variable("PB_JOBS_AUTO_START", "true or false", &c.AutoStart, parseBool),
		variable("PB_JOBS_SHUTDOWN_TIMEOUT", wantPositiveDuration, &c.ShutdownTimeout, parsePositiveDuration),
		variable("PB_JOBS_RETENTION", `a duration such as "168h", not zero (a negative one keeps completed jobs forever)`,
			&c.Retention, parseNonZeroDuration),
		variable("PB_JOBS_POSTGRES_DSN", "", &c.PostgresDSN, parseString),
	}
}

// projectEnvVariables are the PB_JOBS_* variables of this project's tests
// and benchmarks. They do not configure the plugin, and are no typos.
var projectEnvVariables = []string{
	"PB_JOBS_TEST_POSTGRES_DSN",
	"PB_JOBS_REQUIRE_POSTGRES",
	"PB_JOBS_BENCH_POSTGRES_DSN",
}

// wantPositiveDuration says what a positive duration variable must be.
const wantPositiveDuration = `a positive duration such as "500ms", "2s" or "5m"`

// variable binds the variable name to dst, parsed by parse.
func variable[T any](name, want string, dst *T, parse func(string) (T, bool)) envVariable {
	return envVariable{name: name, want: want, set: func(value string) bool {
		v, ok := parse(value)
		if ok {
			*dst = v
		}
		return ok
	}}
}

// applyEnv sets every field of c whose variable lookup finds set to a
// non-blank value (a blank one counts as unset). The error about a value
// that does not parse is one line naming the variable, its value and what
// it should be.
func applyEnv(c *Config, lookup func(string) (string, bool)) error {
	for _, v := range envVariables(c) {
		value, _ := lookup(v.name)
		value = strings.TrimSpace(value)
		if value == "" {
			continue
		}
		if !v.set(value) {
			return fmt.Errorf("%w: %s=%q must be %s", ErrInvalidConfig, v.name, value, v.want)
		}
	}
	return nil
}

func parseBool(s string) (bool, bool) {
	b, err := strconv.ParseBool(s)
	return b, err == nil
}

// parsePositive parses a decimal integer above 0 that fits in T.
func parsePositive[T int | int64](s string) (T, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return T(n), err == nil && n > 0 && int64(T(n)) == n
}

// parseRetries parses a number of retries, where 0 means none: it returns
// NoRetries for 0, since Config.MaxRetries 0 means the default.
func parseRetries(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false
	}
	if n == 0 {
		return NoRetries, true
	}
	return n, true
}

func parsePositiveDuration(s string) (time.Duration, bool) {
	d, err := time.ParseDuration(s)
	return d, err == nil && d > 0
}

func parseNonZeroDuration(s string) (time.Duration, bool) {
	d, err := time.ParseDuration(s)
	return d, err == nil && d != 0
}

func parseString(s string) (string, bool) { return s, true }

// parseList parses a comma-separated list, dropping blank items.
func parseList(s string) ([]string, bool) {
	var items []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items, true
}

// unknownVariable is a PB_JOBS_* variable that the plugin does not read,
// with the plugin's variable whose name is closest to it.
type unknownVariable struct {
	name, closest string
}

// unknownEnv returns, sorted by name, the PB_JOBS_* variables of environ
// (as os.Environ returns it) that are neither the plugin's nor the
// project's.
func unknownEnv(environ []string) []unknownVariable {
	var known []string
	for _, v := range envVariables(new(Config)) {
		known = append(known, v.name)
	}
	var unknown []unknownVariable
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix) || slices.Contains(known, name) || slices.Contains(projectEnvVariables, name) {
			continue
		}
		unknown = append(unknown, unknownVariable{name: name, closest: closest(name, known)})
	}
	slices.SortFunc(unknown, func(a, b unknownVariable) int { return strings.Compare(a.name, b.name) })
	return unknown
}

// closest returns the first of names at the least edit distance from name.
func closest(name string, names []string) string {
	best, bestDistance := "", -1
	for _, n := range names {
		if d := editDistance(name, n); bestDistance < 0 || d < bestDistance {
			best, bestDistance = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b: the fewest
// single-byte insertions, deletions and substitutions that turn one into
// the other.
func editDistance(a, b string) int {
	// prev[j] is the distance between the first i-1 bytes of a and the
	// first j bytes of b; cur is the same for the first i bytes of a.
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			substitution := prev[j-1]
			if a[i-1] != b[j-1] {
				substitution++
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, substitution)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
