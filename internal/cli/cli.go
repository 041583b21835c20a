// Package cli implements the hub's subcommands. Each lives in its own file;
// Run dispatches on the first argument.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"serve":            {"run the HTTP API (and, later, the workers) until SIGINT/SIGTERM", runServe},
	"migrate":          {"apply the hub's and River's database migrations", runMigrate},
	"register-system":  {"create an organisation (if new) and an information system; print its API key once", runRegisterSystem},
	"create-operator":  {"create an operator API key; print it once", runCreateOperator},
	"list-keys":        {"list an information system's (or the operators') API keys: created, last used, revoked", runListKeys},
	"revoke-key":       {"revoke an API key at once (audited)", runRevokeKey},
	"rotate-key":       {"replace an API key, revoking the old one now or after -overlap; print the new one once (audited)", runRotateKey},
	"sim":              {"serve every simulated peer (MSE bureau, ЕГР ЗАГС, ЕПГУ, МИС provider, policy registry) with fault injection", runSim},
	"verify-signature": {"check a detached CMS signature over a document as the door does (signer, validity, registry code)", runVerifySignature},
	"validate":         {"print what the door would say of a document (header, ФЛК levels 1 and 2: every failed rule with its location); exit 1 when refused", runValidate},
	"generate":         {"write generated documents of kind 121, 58, 59 or 76 (and with -sign their detached signatures) for a МИС to test against", runGenerate},
	"demo":             {"start a private PostgreSQL (if DATABASE_URL is unset) and the hub, submit generated documents, print what happened", runDemo},
	"seed-stats":       {"fill a database with N synthetic attempts at the door across the 85 regions, roll them up, time the dashboards' queries (-explain: their plans)", runSeedStats},
	"loadgen":          {"drive a hub (-url, or self-contained on a private durable PostgreSQL) with a mix of flows; live percentiles, end to end, per-document costs", runLoadgen},
	"soak":             {"chaos soak: real hub processes and simulators with faults, SIGKILLs and a PostgreSQL crash; check nothing lost or duplicated", runSoak},
}

// Run executes one subcommand and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "hub: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if err := cmd.run(ctx, args[1:], stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "hub %s: %v\n", args[0], err)
		var ec interface{ ExitCode() int } // a command's own status (validate: 2 for usage)
		if errors.As(err, &ec) {
			return ec.ExitCode()
		}
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: hub <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nconfiguration comes from the environment; see README.md")
}

func getenv(k string) string { return os.Getenv(k) }
