// Package jobscmd adds a "jobs" command to a PocketBase app's command line,
// to read and manage the jobs of the jobs plugin without a running server:
//
//	app jobs stats | topics | schedules
//	app jobs list [--topic T] [--status S] [--limit N] [--offset N]
//	app jobs get ID
//	app jobs enqueue TOPIC [PAYLOAD_JSON] [--run-at T] [--max-retries N] [--priority N] [--unique-key K]
//	app jobs cancel | requeue | delete ID
//	app jobs pause | resume TOPIC
//
// Each command works on the app's job database as jobs.Register configured
// it: the data directory (--dir), or PostgreSQL (Config.PostgresDSN,
// PB_JOBS_POSTGRES_DSN). PocketBase bootstraps the app before it runs the
// command, as for its own "superuser" command; the command never starts the
// dispatcher, so no job runs in it. Output is a table, or with --json the
// JSON the HTTP API answers. A command that fails prints one line on stderr
// and makes the process exit with status 1.
//
// Example usage:
//
//	app := pocketbase.New()
//	jobs.MustRegister(app, jobs.DefaultConfig())
//	jobscmd.MustRegister(app, app.RootCmd)
package jobscmd

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/spf13/cobra"
)

// hookIDExit is the id of the terminate handler that sets the exit status
// of a failed command.
const hookIDExit = "__pbJobsCmdExit__"

// exitPriority makes the exit handler the outermost terminate handler
// (hook handlers run in ascending priority), so every other one has done
// its cleanup when it exits.
const exitPriority = -1 << 20

// MustRegister adds the jobs command to rootCmd like Register, and panics
// with Register's error if there is one.
//
// Example usage:
//
//	jobscmd.MustRegister(app, app.RootCmd)
func MustRegister(app core.App, rootCmd *cobra.Command) {
	if err := Register(app, rootCmd); err != nil {
		panic(err)
	}
}

// Register adds the jobs command, with its subcommands, to rootCmd (a
// PocketBase app's RootCmd). The commands use the job store of app, so
// jobs.Register must be called on app too, before or after.
//
// PocketBase's own commands print their error but leave the exit status 0.
// A jobs command that fails makes the process exit with status 1 instead:
// once PocketBase has run the command and terminated the app (closing its
// databases), a terminate handler calls os.Exit(1).
func Register(app core.App, rootCmd *cobra.Command) error {
	return register(app, rootCmd, os.Exit)
}

// register is Register with the function that ends the process after a
// failed command; tests pass one that records the status.
func register(app core.App, rootCmd *cobra.Command, exit func(code int)) error {
	if app == nil {
		return errors.New("jobscmd: app is nil")
	}
	if rootCmd == nil {
		return errors.New("jobscmd: rootCmd is nil")
	}
	c := &cli{app: app, exit: exit}
	rootCmd.AddCommand(c.command())
	app.OnTerminate().Bind(&hook.Handler[*core.TerminateEvent]{
		Id:       hookIDExit,
		Priority: exitPriority,
		Func:     c.exitIfFailed,
	})
	return nil
}

// cli is the jobs command of one app.
type cli struct {
	app core.App
	// exit ends the process with a status (os.Exit).
	exit func(code int)
	// failed is set when a command of the tree failed: its arguments, its
	// flags or its run.
	failed atomic.Bool
	// json is the value of --json.
	json bool
}

// command returns the jobs command with its subcommands. Its errors are
// printed on os.Stderr: PocketBase gives its root command an error writer
// that prints on stdout.
func (c *cli) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "Reads and manages the jobs of the jobs plugin",
		Long: `Reads and manages the jobs of the jobs plugin, in the app's job database: the data
directory (--dir), or PostgreSQL when the app is configured for it (PB_JOBS_POSTGRES_DSN).
No server needs to run, and no job runs in these commands. With --json each command prints
the JSON the HTTP API answers. A command that fails prints one line on stderr and exits
with status 1.`,
		Example: `  jobs list --status failed
  jobs enqueue mail_digest '{"user_id": "123"}'
  jobs requeue d5rjryya5va2swn`,
		Args:          c.checked(cobra.NoArgs), // an unknown subcommand
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.SetErr(os.Stderr)
	cmd.PersistentFlags().BoolVar(&c.json, "json", false, "print the JSON the HTTP API answers")
	cmd.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return c.fail(cmd, err) })
	cmd.AddCommand(
		c.statsCommand(), c.listCommand(), c.getCommand(), c.topicsCommand(), c.schedulesCommand(),
		c.enqueueCommand(),
		c.cancelCommand(), c.requeueCommand(), c.deleteCommand(),
		c.pauseCommand(), c.resumeCommand(),
	)
	return cmd
}

// subcommand completes cmd as a jobs subcommand that takes minArgs to
// maxArgs arguments and runs fn; a failure of either is printed as one line,
// without the usage, and sets the exit status.
func (c *cli) subcommand(cmd *cobra.Command, minArgs, maxArgs int, fn func(cmd *cobra.Command, args []string) error) *cobra.Command {
	cmd.Args = c.checked(argCount(minArgs, maxArgs))
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := fn(cmd, args); err != nil {
			return c.fail(cmd, err)
		}
		return nil
	}
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	return cmd
}

// checked returns args, a cobra argument check, whose failure is printed
// and sets the exit status.
func (c *cli) checked(args cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, given []string) error {
		if err := args(cmd, given); err != nil {
			return c.fail(cmd, err)
		}
		return nil
	}
}

// fail prints err as one line on cmd's error writer, records that a command
// failed, and returns err. Every failure of the command tree (its flags,
// arguments and runs) goes through fail, since the commands silence
// cobra's own printing.
func (c *cli) fail(cmd *cobra.Command, err error) error {
	c.failed.Store(true)
	cmd.PrintErrln("Error:", err)
	return err
}

// argCount returns an argument check for a command taking minArgs to
// maxArgs arguments, whose error shows the command's usage line.
func argCount(minArgs, maxArgs int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < minArgs || len(args) > maxArgs {
			return fmt.Errorf("%d arguments given; usage: %s", len(args), cmd.UseLine())
		}
		return nil
	}
}

// exitIfFailed lets the other terminate handlers clean up, then exits with
// status 1 if a jobs command failed: PocketBase's Execute drops the
// command's error.
func (c *cli) exitIfFailed(e *core.TerminateEvent) error {
	err := e.Next()
	if c.failed.Load() {
		c.exit(1)
	}
	return err
}
