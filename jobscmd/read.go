package jobscmd

import (
	"github.com/pocketbase-jobs/jobs"
	"github.com/spf13/cobra"
)

// statsCommand returns "jobs stats": the counts of jobs per status.
func (c *cli) statsCommand() *cobra.Command {
	return c.subcommand(&cobra.Command{
		Use:     "stats",
		Short:   "Counts the jobs per status",
		Example: "  jobs stats\n  jobs stats --json",
	}, 0, 0, func(cmd *cobra.Command, _ []string) error {
		stats, err := c.store().Stats()
		if err != nil {
			return err
		}
		if c.json {
			return writeJSON(cmd.OutOrStdout(), stats)
		}
		return writeStats(cmd.OutOrStdout(), stats)
	})
}

// listCommand returns "jobs list": one page of jobs, newest first.
func (c *cli) listCommand() *cobra.Command {
	var filter jobs.JobFilter
	cmd := c.subcommand(&cobra.Command{
		Use:   "list",
		Short: "Lists jobs, newest first, one page at a time",
		Long: `Lists jobs, newest first, one page at a time: --limit jobs (20 unless set, at most 500)
after skipping --offset of them, of one topic and one status when these are set.`,
		Example: "  jobs list\n  jobs list --topic mail_digest --status failed\n  jobs list --limit 50 --offset 50",
	}, 0, 0, func(cmd *cobra.Command, _ []string) error {
		list, err := c.store().List(&filter)
		if err != nil {
			return err
		}
		if c.json {
			return writeJSON(cmd.OutOrStdout(), list)
		}
		return writeJobList(cmd.OutOrStdout(), list)
	})
	flags := cmd.Flags()
	flags.StringVar(&filter.Topic, "topic", "", "only jobs of this topic")
	flags.StringVar(&filter.Status, "status", "", "only jobs in this status: pending, processing, completed, failed or cancelled")
	flags.IntVar(&filter.Limit, "limit", 0, "jobs per page, 1 to 500 (default 20)")
	flags.IntVar(&filter.Offset, "offset", 0, "jobs to skip")
	return cmd
}

// getCommand returns "jobs get ID": one job.
func (c *cli) getCommand() *cobra.Command {
	return c.subcommand(&cobra.Command{
		Use:     "get ID",
		Short:   "Shows one job",
		Example: "  jobs get bwc11mla1ataxf9",
	}, 1, 1, func(cmd *cobra.Command, args []string) error {
		job, err := c.store().Get(args[0])
		return c.writeJob(cmd, job, err)
	})
}

// topicsCommand returns "jobs topics": every topic with its counts.
func (c *cli) topicsCommand() *cobra.Command {
	return c.subcommand(&cobra.Command{
		Use:   "topics",
		Short: "Lists the topics, with their jobs counted per status",
		Long: `Lists every topic that has jobs, is paused, or has a handler, with its jobs counted per
status. HANDLER tells whether the app's code registers a handler for the topic when it
bootstraps (a handler registered only in another process is not known here).`,
		Example: "  jobs topics",
	}, 0, 0, func(cmd *cobra.Command, _ []string) error {
		topics, err := c.store().Topics()
		if err != nil {
			return err
		}
		if c.json {
			return writeJSON(cmd.OutOrStdout(), topics)
		}
		return writeTopics(cmd.OutOrStdout(), topics)
	})
}

// schedulesCommand returns "jobs schedules": the schedules the app's code
// declares.
func (c *cli) schedulesCommand() *cobra.Command {
	return c.subcommand(&cobra.Command{
		Use:   "schedules",
		Short: "Lists the periodic jobs the app's code declares",
		Long: `Lists the schedules (periodic jobs) declared in this process, with their next and last run.
A schedule is code: this command shows the ones the app's code declares when it bootstraps,
as the server would; schedules declared later, or only by another program, are not shown.
The last run is read from the job database, so it counts the ticks of every process.`,
		Example: "  jobs schedules",
	}, 0, 0, func(cmd *cobra.Command, _ []string) error {
		schedules, err := c.store().Schedules()
		if err != nil {
			return err
		}
		if c.json {
			return writeJSON(cmd.OutOrStdout(), schedules)
		}
		return writeSchedules(cmd.OutOrStdout(), schedules)
	})
}

// store returns the app's job store.
func (c *cli) store() *jobs.JobStore {
	return jobs.GetJobStore(c.app)
}

// writeJob prints job, as JSON with --json, or returns err.
func (c *cli) writeJob(cmd *cobra.Command, job *jobs.Job, err error) error {
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(cmd.OutOrStdout(), job)
	}
	return writeJob(cmd.OutOrStdout(), job)
}
