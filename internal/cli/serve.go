package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os/signal"
	"syscall"

	"github.com/emdhub/hub/internal/app"
	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/db"
	"github.com/emdhub/hub/internal/store"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := cfg.Logger()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	l, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (HUB_LISTEN_ADDR): %w", cfg.ListenAddr, err)
	}
	return a.Serve(ctx, l)
}

func openDB(ctx context.Context) (*config.Config, *store.Store, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, nil, err
	}
	if cfg.DatabaseURL == "" {
		return nil, nil, fmt.Errorf("DATABASE_URL is not set")
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL, "hub-cli")
	if err != nil {
		return nil, nil, err
	}
	return cfg, store.New(pool), nil
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, st, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer st.Pool.Close()
	if err := db.Migrate(ctx, st.Pool, cfg.Logger()); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

func runRegisterSystem(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("register-system", flag.ContinueOnError)
	fs.SetOutput(stderr)
	orgOID := fs.String("org-oid", "", "ФРМО OID of the organisation, e.g. 1.2.643.5.1.13.13.12.2.77.7973 (required)")
	orgName := fs.String("org-name", "", "organisation name (required for a new organisation)")
	system := fs.String("system", "", "information system name, unique within the organisation (required)")
	orgOGRN := fs.String("org-ogrn", "", "the organisation's ОГРН (13 digits) or ОГРНИП (15), matched against its signature certificate when a document's custodian carries none; alone with -org-oid, records it for a registered organisation")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *orgOGRN != "" && *system == "" && *orgOID != "" {
		_, st, err := openDB(ctx)
		if err != nil {
			return err
		}
		defer st.Pool.Close()
		org, err := st.RecordOrganizationOGRN(ctx, *orgOID, *orgOGRN)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "organisation  %s  %s: ОГРН %s recorded\n", org.OID, org.Name, org.OGRN)
		return nil
	}
	if *orgOID == "" || *system == "" || *orgName == "" {
		fs.Usage()
		return fmt.Errorf("-org-oid, -org-name and -system are required")
	}
	_, st, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer st.Pool.Close()
	reg, err := st.RegisterSystemAs(ctx, cliActor(), *orgOID, *orgName, *orgOGRN, *system)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "organisation  %s  %s (region %s)\nsystem        %s  %s\nkey id        %s\napi key       %s\n\nThe key is shown only now; the hub keeps only its hash.\n",
		reg.Organization.OID, reg.Organization.Name, reg.Organization.Region, reg.System.ID, reg.System.Name, reg.KeyID, reg.APIKey)
	return nil
}

func runCreateOperator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("create-operator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "who the key is for (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" {
		fs.Usage()
		return fmt.Errorf("-name is required")
	}
	_, st, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer st.Pool.Close()
	k, err := st.CreateOperatorAs(ctx, cliActor(), *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "operator key id   %s\noperator api key  %s\n\nThe key is shown only now; the hub keeps only its hash.\n", k.Key.ID, k.APIKey)
	return nil
}
