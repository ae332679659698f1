package jobscmd

import (
	"fmt"

	"github.com/pocketbase-jobs/jobs"
	"github.com/spf13/cobra"
)

// cancelCommand returns "jobs cancel ID".
func (c *cli) cancelCommand() *cobra.Command {
	return c.subcommand(&cobra.Command{
		Use:   "cancel ID",
		Short: "Cancels a pending or processing job",
		Long: `Cancels a pending or processing job: it becomes cancelled and does not run again unless it
is requeued. A handler running it in a server is told (its context ends).`,
		Example: "  jobs cancel yzeynr9n5j4yewu",
	}, 1, 1, func(cmd *cobra.Command, args []string) error {
		job, err := c.store().Cancel(args[0])
		return c.writeJob(cmd, job, err)
	})
}

// requeueCommand returns "jobs requeue ID".
func (c *cli) requeueCommand() *cobra.Command {
	return c.subcommand(&cobra.Command{
		Use:   "requeue ID",
		Short: "Moves a failed or cancelled job back to pending, with fresh retries",
		Long: `Moves a failed or cancelled job back to pending, to run now with a fresh set of retries;
its last error is kept. A server running the dispatcher picks it up (this command runs no job).`,
		Example: "  jobs requeue d5rjryya5va2swn",
	}, 1, 1, func(cmd *cobra.Command, args []string) error {
		job, err := c.store().Requeue(args[0])
		return c.writeJob(cmd, job, err)
	})
}

// deleteCommand returns "jobs delete ID".
func (c *cli) deleteCommand() *cobra.Command {
	return c.subcommand(&cobra.Command{
		Use:   "delete ID",
		Short: "Deletes a pending, failed or cancelled job",
		Long: `Deletes a pending, failed or cancelled job. It prints one line, or nothing with --json (the
HTTP API answers 204 without a body).`,
		Example: "  jobs delete yzeynr9n5j4yewu",
	}, 1, 1, func(cmd *cobra.Command, args []string) error {
		if err := c.store().Delete(args[0]); err != nil {
			return err
		}
		if c.json {
			return nil
		}
		_, err := fmt.Fprintf(cmd.OutOrStdout(), "deleted job %s\n", cell(args[0]))
		return err
	})
}

// pauseCommand returns "jobs pause TOPIC".
func (c *cli) pauseCommand() *cobra.Command {
	return c.subcommand(&cobra.Command{
		Use:   "pause TOPIC",
		Short: "Stops every process from claiming the jobs of a topic until it is resumed",
		Long: `Pauses a topic: no process sharing the job database claims its jobs until it is resumed;
jobs running meanwhile finish, and enqueues of the topic still succeed. The pause is stored in
the job database, so running servers follow it.`,
		Example: "  jobs pause mail_digest",
	}, 1, 1, func(cmd *cobra.Command, args []string) error {
		return c.setPaused(cmd, args[0], (*jobs.JobStore).Pause)
	})
}

// resumeCommand returns "jobs resume TOPIC".
func (c *cli) resumeCommand() *cobra.Command {
	return c.subcommand(&cobra.Command{
		Use:   "resume TOPIC",
		Short: "Lets every process claim the jobs of a paused topic again",
		Long: `Resumes a paused topic: the servers sharing the job database claim its jobs again, at once
on PostgreSQL and within their poll interval on SQLite.`,
		Example: "  jobs resume mail_digest",
	}, 1, 1, func(cmd *cobra.Command, args []string) error {
		return c.setPaused(cmd, args[0], (*jobs.JobStore).Resume)
	})
}

// setPaused pauses or resumes (set) topic and prints the topic's state, as
// the HTTP API answers it.
func (c *cli) setPaused(cmd *cobra.Command, topic string, set func(*jobs.JobStore, string) error) error {
	store := c.store()
	if err := set(store, topic); err != nil {
		return err
	}
	info, err := topicInfo(store, topic)
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(cmd.OutOrStdout(), info)
	}
	return writeTopics(cmd.OutOrStdout(), []jobs.TopicInfo{info})
}

// topicInfo returns the state of topic, which may have no jobs.
func topicInfo(store *jobs.JobStore, topic string) (jobs.TopicInfo, error) {
	topics, err := store.Topics()
	if err != nil {
		return jobs.TopicInfo{}, err
	}
	for _, t := range topics {
		if t.Topic == topic {
			return t, nil
		}
	}
	return jobs.TopicInfo{Topic: topic}, nil
}
