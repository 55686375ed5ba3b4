package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/herder-ci/herder/plugins/pulse/transform"
	"github.com/herder-ci/herder/sdk"
)

func init() { rootCmd.AddCommand(newPulseCmd()) }

func newPulseCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pulse",
		Short: "Tools for the Pulse source: see what herder makes of recorded messages",
	}
	var messages, tasks, format, project string
	transformCmd := &cobra.Command{
		Use:   "transform --messages FILE --tasks FILE",
		Short: "Print the jobs recorded Taskcluster messages become, keyed by task id, without a broker",
		Long: "transform reads task status messages (an object keyed by task id, as Treeherder's\n" +
			"taskcluster_pulse_messages.json, or an array of {exchange, root_url, payload}) and the task\n" +
			"definitions they need (an object keyed by task id, as taskcluster_tasks.json), and prints the\n" +
			"job data herder would store, keyed by task id, in the shape of Treeherder's\n" +
			"taskcluster_transformed_jobs.json. Skipped tasks (no tc-treeherder route, ...) are left out;\n" +
			"failures are listed on stderr and make the exit status 1. Artifact lists are not fetched.\n\n" +
			"--format pulse-job reads jobs in Treeherder's older pulse-job format (job_data.json) instead;\n" +
			"--project then replaces every job's origin.project (the fixture's placeholder is not a valid name).\n" +
			"With the default format, --project keeps only that project's tasks (PROJECTS_TO_INGEST).\n" +
			"FILE may be - for stdin.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := contextOrBackground(cmd.Context())
			var out map[string]sdk.JobDatum
			var terr error
			switch format {
			case "taskcluster", "":
				if messages == "" || tasks == "" {
					return usageError(errors.New("pulse transform: --messages and --tasks are required"))
				}
				msgs, err := readWith(messages, cmd.InOrStdin(), transform.DecodeMessages)
				if err != nil {
					return err
				}
				defs, err := readWith(tasks, cmd.InOrStdin(), transform.DecodeTasks)
				if err != nil {
					return err
				}
				opts := transform.Options{}
				if project != "" {
					opts.ProjectsToIngest = []string{project}
				}
				out, terr = transform.TransformMessages(ctx, msgs, defs, opts)
			case "pulse-job":
				if messages == "" {
					return usageError(errors.New("pulse transform --format pulse-job: --messages is required"))
				}
				jobs, err := readWith(messages, cmd.InOrStdin(), transform.DecodePulseJobs)
				if err != nil {
					return err
				}
				if project != "" {
					for i, raw := range jobs {
						if jobs[i], err = setProject(raw, project); err != nil {
							return fmt.Errorf("job %d: %w", i, err)
						}
					}
				}
				var data []sdk.JobDatum
				data, terr = transform.TransformPulseJobs(jobs)
				out = transform.KeyByTask(data)
			default:
				return usageError(fmt.Errorf("pulse transform: --format %q: want taskcluster or pulse-job", format))
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			js, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				return fmt.Errorf("encode jobs: %w", err)
			}
			if _, err := fmt.Fprintf(cmd.OutOrStdout(), "%s\n", js); err != nil {
				return err
			}
			if terr != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), terr)
				return errors.New("pulse transform: some messages failed (listed above)")
			}
			return nil
		},
	}
	f := transformCmd.Flags()
	f.StringVar(&messages, "messages", "", "task status messages (or pulse jobs with --format pulse-job); - for stdin")
	f.StringVar(&tasks, "tasks", "", "task definitions keyed by task id; - for stdin")
	f.StringVar(&format, "format", "taskcluster", "input format: taskcluster (status messages) or pulse-job")
	f.StringVar(&project, "project", "", "pulse-job: set every job's origin.project; taskcluster: only this project's tasks")
	cmd.AddCommand(transformCmd)
	return cmd
}

// readWith opens path (or stdin for "-") and decodes it.
func readWith[T any](path string, stdin io.Reader, decode func(io.Reader) (T, error)) (T, error) {
	var zero T
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return zero, err
		}
		defer f.Close()
		r = f
	}
	v, err := decode(r)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// setProject replaces a pulse job's origin.project.
func setProject(raw json.RawMessage, project string) (json.RawMessage, error) {
	var job map[string]json.RawMessage
	if err := json.Unmarshal(raw, &job); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	var origin map[string]json.RawMessage
	if o, ok := job["origin"]; ok {
		if err := json.Unmarshal(o, &origin); err != nil {
			return nil, fmt.Errorf("origin is not an object: %w", err)
		}
	}
	if origin == nil {
		origin = map[string]json.RawMessage{}
	}
	origin["project"], _ = json.Marshal(project)
	job["origin"], _ = json.Marshal(origin)
	return json.Marshal(job)
}
