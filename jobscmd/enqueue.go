package jobscmd

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/pocketbase-jobs/jobs"
	"github.com/spf13/cobra"
)

// enqueueFlags are the flags of "jobs enqueue", the options of the job.
type enqueueFlags struct {
	runAt      string
	maxRetries int
	noRetries  bool
	priority   int
	uniqueKey  string
}

// enqueueCommand returns "jobs enqueue TOPIC [PAYLOAD_JSON]".
func (c *cli) enqueueCommand() *cobra.Command {
	var f enqueueFlags
	cmd := c.subcommand(&cobra.Command{
		Use:   "enqueue TOPIC [PAYLOAD_JSON]",
		Short: "Adds a job",
		Long: `Adds a job of TOPIC with the payload PAYLOAD_JSON, any JSON value (null when it is left
out; "-" reads it from standard input). A server running the dispatcher runs it: this
command runs no job. With --unique-key, while a pending or processing job of the topic has
the key, nothing is added and that job is printed, marked as a duplicate.`,
		Example: `  jobs enqueue mail_digest '{"user_id": "123"}'
  jobs enqueue report '{"month": "2030-01"}' --run-at 2030-02-01T06:00:00Z --unique-key 2030-01
  jobs enqueue webhook '{"url": "https://example.com/hook"}' --priority 10 --max-retries 5
  cat payload.json | jobs enqueue import -`,
	}, 1, 2, func(cmd *cobra.Command, args []string) error {
		payload, err := readPayload(cmd.InOrStdin(), args[1:])
		if err != nil {
			return err
		}
		opts, err := f.options(cmd)
		if err != nil {
			return err
		}
		job, err := c.store().EnqueueWithOptions(args[0], payload, opts)
		return c.writeJob(cmd, job, err)
	})
	flags := cmd.Flags()
	flags.StringVar(&f.runAt, "run-at", "", "when the job may run, RFC 3339 (2030-02-01T07:00:00+01:00); default now")
	flags.IntVar(&f.maxRetries, "max-retries", 0, "retries after the first attempt, 0..1000; 0 means none (default: the app's MaxRetries)")
	flags.BoolVar(&f.noRetries, "no-retries", false, "a single attempt, as --max-retries 0")
	flags.IntVar(&f.priority, "priority", 0, "higher runs first among runnable jobs, -1000..1000")
	flags.StringVar(&f.uniqueKey, "unique-key", "", "while a pending or processing job of the topic has this key, enqueue nothing")
	return cmd
}

// options returns the enqueue options the flags of cmd ask for. As in the
// HTTP enqueue body, a max retries of 0 means none, and leaving it out the
// app's default.
func (f *enqueueFlags) options(cmd *cobra.Command) (*jobs.JobEnqueueOptions, error) {
	opts := &jobs.JobEnqueueOptions{Priority: f.priority, UniqueKey: f.uniqueKey}
	if f.runAt != "" {
		runAt, err := time.Parse(time.RFC3339, f.runAt)
		if err != nil {
			return nil, fmt.Errorf("%w: --run-at %q is not an RFC 3339 time such as 2030-02-01T07:00:00+01:00",
				jobs.ErrInvalidOptions, f.runAt)
		}
		opts.RunAt = runAt
	}
	setMaxRetries := cmd.Flags().Changed("max-retries")
	switch {
	case f.noRetries && setMaxRetries:
		return nil, fmt.Errorf("%w: --no-retries and --max-retries cannot both be given", jobs.ErrInvalidOptions)
	case f.noRetries:
		opts.MaxRetries = jobs.NoRetries
	case setMaxRetries && f.maxRetries < 0:
		return nil, fmt.Errorf("%w: --max-retries %d is negative", jobs.ErrInvalidOptions, f.maxRetries)
	case setMaxRetries && f.maxRetries == 0:
		opts.MaxRetries = jobs.NoRetries
	case setMaxRetries:
		opts.MaxRetries = f.maxRetries
	}
	return opts, nil
}

// readPayload returns the payload of "jobs enqueue": nil (JSON null) when
// args is empty, else the json.RawMessage of stdin's content when args[0]
// is "-", or of args[0]; either must be JSON.
func readPayload(stdin io.Reader, args []string) (any, error) {
	if len(args) == 0 {
		return nil, nil
	}
	raw, source := []byte(args[0]), "PAYLOAD_JSON"
	if args[0] == "-" {
		var err error
		if raw, err = io.ReadAll(stdin); err != nil {
			return nil, fmt.Errorf("read the payload from standard input: %w", err)
		}
		source = "the standard input"
	}
	var payload json.RawMessage
	if err := json.Unmarshal(raw, &payload); err != nil {
		return nil, fmt.Errorf("%w: %s is not JSON: %w", jobs.ErrInvalidPayload, source, err)
	}
	return payload, nil
}
