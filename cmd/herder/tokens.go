package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/herder-ci/herder/config"
	"github.com/herder-ci/herder/core/auth"
	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store/sqlstore"
)

func init() {
	tokens := &cobra.Command{Use: "tokens", Short: "Manage API tokens for scripts and admin commands"}

	var user, role, name string
	create := &cobra.Command{
		Use:   "create --user U --role sheriff|admin",
		Short: "Create a token; it is printed once and stored only as a hash",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if user == "" {
				return usageError(fmt.Errorf("--user is required"))
			}
			if role != model.RoleSheriff && role != model.RoleAdmin {
				return usageError(fmt.Errorf("--role must be sheriff or admin, not %q", role))
			}
			return withPreparedStore(cmd.Context(), func(ctx context.Context, cfg *config.Config, st *sqlstore.Store) error {
				u, err := st.EnsureUser(ctx, user, user, role == model.RoleAdmin)
				if err != nil {
					return err
				}
				tok, hash, err := auth.NewToken()
				if err != nil {
					return err
				}
				if name == "" {
					name = role + " token"
				}
				id, err := st.CreateToken(ctx, u.ID, name, role, hash)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "token %d for %s (%s); it is shown only now:\n", id, user, role)
				fmt.Fprintln(cmd.OutOrStdout(), tok)
				return nil
			})
		},
	}
	create.Flags().StringVar(&user, "user", "", "the user the token acts as (created if missing)")
	create.Flags().StringVar(&role, "role", model.RoleSheriff, "sheriff (classify failures) or admin (also manage plugins)")
	create.Flags().StringVar(&name, "name", "", "a label for the token")

	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withPreparedStore(cmd.Context(), func(ctx context.Context, cfg *config.Config, st *sqlstore.Store) error {
				toks, err := st.Tokens(ctx)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tUSER\tROLE\tNAME\tCREATED\tLAST USED\tREVOKED")
				for _, t := range toks {
					last := "never"
					if t.LastUsed > 0 {
						last = time.Unix(t.LastUsed, 0).UTC().Format(time.RFC3339)
					}
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%v\n", t.ID, t.User.Username, t.Role, t.Name,
						time.Unix(t.Created, 0).UTC().Format(time.RFC3339), last, t.Revoked)
				}
				return w.Flush()
			})
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageError(fmt.Errorf("token id %q is not a number", args[0]))
			}
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			ctx := contextOrBackground(cmd.Context())
			st, err := openStore(ctx, cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.RevokeToken(ctx, id); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token %d revoked\n", id)
			return nil
		},
	}
	tokens.AddCommand(create, list, revoke)
	rootCmd.AddCommand(tokens)
}
