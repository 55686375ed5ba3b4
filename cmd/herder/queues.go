package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/herder-ci/herder/config"
	"github.com/herder-ci/herder/core/queue"
)

// queueDialTimeout bounds how long an operator command waits for the broker.
const queueDialTimeout = 15 * time.Second

func init() {
	queues := &cobra.Command{
		Use:   "queues",
		Short: "Inspect the RabbitMQ work queues and replay dead letters",
		Long: "Work queues on RabbitMQ (the config's queue block): one queue per workload (" +
			strings.Join(queue.Workloads, ", ") + "), each with a dead-letter queue holding messages a worker " +
			"rejected or that failed more often than the delivery limit.",
	}

	status := &cobra.Command{
		Use:   "status",
		Short: "Show each queue's ready messages, consumers and dead letters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withBroker(cmd, func(ctx context.Context, b *queue.Broker) error {
				st, err := b.Status(ctx)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "QUEUE\tMESSAGES\tCONSUMERS\tDEAD")
				for _, s := range st {
					fmt.Fprintf(w, "%s\t%d\t%d\t%d\n", s.Queue, s.Messages, s.Consumers, s.DeadMessages)
				}
				return w.Flush()
			})
		},
	}

	var replayQueue string
	var replayLimit int
	replay := &cobra.Command{
		Use:   "replay-dead --queue WORKLOAD [--limit N]",
		Short: "Move dead letters back to their work queue (after fixing what made them fail)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if replayLimit < 0 {
				return usageError(errors.New("--limit must not be negative"))
			}
			return withWorkload(cmd, replayQueue, func(ctx context.Context, cfg *config.Config, b *queue.Broker, workload string) error {
				n, err := b.ReplayDead(ctx, workload, replayLimit)
				q := cfg.Queue.Prefix + "." + workload
				if n > 0 || err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "replayed %d messages from %s.dead to %s\n", n, q, q)
				}
				return err
			})
		},
	}
	replay.Flags().StringVar(&replayQueue, "queue", "", "the workload whose dead letters to replay: "+strings.Join(queue.Workloads, ", "))
	replay.Flags().IntVar(&replayLimit, "limit", 0, "replay at most N messages, oldest first (0: all)")

	var deadQueue string
	var deadLimit int
	dead := &cobra.Command{
		Use:   "dead --queue WORKLOAD [--limit N]",
		Short: "List dead letters and why they failed, without removing them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if deadLimit < 0 {
				return usageError(errors.New("--limit must not be negative"))
			}
			return withWorkload(cmd, deadQueue, func(ctx context.Context, cfg *config.Config, b *queue.Broker, workload string) error {
				dls, err := b.DeadLetters(ctx, workload, deadLimit)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tFAILED AT\tBYTES\tREASON")
				for _, d := range dls {
					at := "-"
					if !d.FailedAt.IsZero() {
						at = d.FailedAt.UTC().Format(time.RFC3339)
					}
					fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", d.ID, at, len(d.Body), oneLine(d.Reason))
				}
				return w.Flush()
			})
		},
	}
	dead.Flags().StringVar(&deadQueue, "queue", "", "the workload whose dead letters to list: "+strings.Join(queue.Workloads, ", "))
	dead.Flags().IntVar(&deadLimit, "limit", 100, "list at most N messages, oldest first (0: all)")

	queues.AddCommand(status, replay, dead)
	rootCmd.AddCommand(queues)
}

// withBroker loads the config and dials its queue block's broker.
func withBroker(cmd *cobra.Command, fn func(ctx context.Context, b *queue.Broker) error) error {
	return dialQueue(cmd, false, "", func(ctx context.Context, _ *config.Config, b *queue.Broker, _ string) error {
		return fn(ctx, b)
	})
}

// withWorkload checks the --queue flag's workload, loads the config and
// dials the broker.
func withWorkload(cmd *cobra.Command, name string, fn func(ctx context.Context, cfg *config.Config, b *queue.Broker, workload string) error) error {
	return dialQueue(cmd, true, name, fn)
}

func dialQueue(cmd *cobra.Command, needsQueue bool, name string, fn func(ctx context.Context, cfg *config.Config, b *queue.Broker, workload string) error) error {
	if needsQueue && name == "" {
		return usageError(fmt.Errorf("--queue is required: one of %s", strings.Join(queue.Workloads, ", ")))
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if cfg.Queue == nil {
		return usageError(errors.New("no queue block in the config: herder is using the database-backed queue"))
	}
	workload := ""
	if needsQueue {
		// The status table prints queue names; accept those as well.
		workload = strings.TrimPrefix(name, cfg.Queue.Prefix+".")
		workload = strings.TrimSuffix(workload, ".dead")
		if !queue.IsWorkload(workload) {
			return usageError(fmt.Errorf("--queue %q: want one of %s", name, strings.Join(queue.Workloads, ", ")))
		}
	}
	ctx := contextOrBackground(cmd.Context())
	dctx, cancel := context.WithTimeout(ctx, queueDialTimeout)
	defer cancel()
	b, err := queue.Dial(dctx, queueOptions(cfg, newLogger(cfg), nil))
	if err != nil {
		return err
	}
	defer b.Close()
	return fn(ctx, cfg, b, workload)
}

// oneLine keeps a reason (an error text) on one table row.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
