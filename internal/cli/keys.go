package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/emdhub/hub/internal/store"
)

// cliActor is who the audit log records for a change made from the
// command line: the OS user running it (whoever holds DATABASE_URL).
func cliActor() store.Actor {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	return store.Actor{Kind: store.ActorCLI, Name: name}
}

func parseID(fs *flag.FlagSet, flagName, v string) (uuid.UUID, error) {
	id, err := uuid.Parse(v)
	if err != nil {
		fs.Usage()
		return uuid.Nil, fmt.Errorf("-%s must be an id (see hub list-keys)", flagName)
	}
	return id, nil
}

func runListKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("list-keys", flag.ContinueOnError)
	fs.SetOutput(stderr)
	system := fs.String("system", "", "information system id (from register-system or GET /api/v1/ops/systems)")
	operators := fs.Bool("operators", false, "list the operators' keys instead")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var sys *uuid.UUID
	if !*operators {
		id, err := parseID(fs, "system", *system)
		if err != nil {
			return fmt.Errorf("%w, or give -operators", err)
		}
		sys = &id
	}
	_, st, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer st.Pool.Close()
	keys, err := st.ListKeys(ctx, sys)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(w, "KEY ID\tNAME\tCREATED\tLAST USED\tSTATE")
	for _, k := range keys {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.CreatedAt.UTC().Format(time.RFC3339), stamp(k.LastUsedAt), keyState(k))
	}
	return w.Flush()
}

func stamp(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func keyState(k store.Key) string {
	switch {
	case k.RevokedAt == nil:
		return "active"
	case k.Active:
		return "active until " + stamp(k.RevokedAt) + " (rotated)"
	default:
		return "revoked " + stamp(k.RevokedAt)
	}
}

func runRevokeKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("revoke-key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyID := fs.String("key", "", "key id to revoke (see hub list-keys); its next request gets 401")
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, err := parseID(fs, "key", *keyID)
	if err != nil {
		return err
	}
	_, st, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer st.Pool.Close()
	k, err := st.RevokeKey(ctx, cliActor(), id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no key %s", id)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "key %s (%s) revoked %s\n", k.ID, k.Name, stamp(k.RevokedAt))
	return nil
}

func runRotateKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rotate-key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyID := fs.String("key", "", "key id to replace (see hub list-keys)")
	overlap := fs.Duration("overlap", 0, "keep the old key working this long (at most 168h) so the МИС can deploy the new one; 0 revokes it at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, err := parseID(fs, "key", *keyID)
	if err != nil {
		return err
	}
	if *overlap < 0 || *overlap > store.MaxKeyOverlap {
		return fmt.Errorf("-overlap must be from 0s to %s", store.MaxKeyOverlap)
	}
	_, st, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer st.Pool.Close()
	r, err := st.RotateKey(ctx, cliActor(), id, *overlap)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no key %s", id)
	case errors.Is(err, store.ErrKeyRevoked):
		return fmt.Errorf("key %s is revoked or already rotated", id)
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "old key  %s  %s\nnew key  %s\napi key  %s\n\nThe key is shown only now; the hub keeps only its hash.\n",
		r.Old.ID, keyState(r.Old), r.New.Key.ID, r.New.APIKey)
	return nil
}
