package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// TestDemo runs the README's first command as a newcomer would: no
// DATABASE_URL, so it starts its own PostgreSQL.
func TestDemo(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"demo", "-seed", "42"}, &out, &errOut); code != 0 {
		t.Fatalf("demo exited %d\n%s\n%s", code, out.String(), errOut.String())
	}
	s := out.String()
	for _, want := range []string{
		"starting a private PostgreSQL",
		"referral A: 5 linked (1 flaky)    result_received (5/5 linked fetched)",
		"referral B: 3 linked (1 missing)  incomplete (2/3 linked fetched; unavailable NOT_FOUND)",
		"referral C: 2 linked (held)       result_received (2/2 linked fetched)",
		"death certificate 1               epgu delivered, zags delivered",
		"death certificate 3 (expiring)    epgu superseded (PERSONAL_SIG_CERT_NOT_ACTUAL_ON_CHECK_DT), zags delivered",
		"death certificate 3, version 2    epgu delivered, zags delivered",
		"INVALID_SNILS", "SERIES_REQUIRED", "SIGNER_ORG_MISMATCH", "INVALID_CONTENT",
		"SIGNATURE_VERIFICATION_ERROR", "PERSONAL_SIG_CERT_NOT_ACTUAL_ON_CHECK_DT: signature 0", "CERTIFICATE_REVOKED",
		"summary: 2 referrals sent, 1 held incomplete (not sent), 2 results received; 11 certificate deliveries",
		"1 send attempt(s) stopped by the certificate gate",
		"asking for it → HTTP 404",
		"verified (HMAC-SHA256, timestamp ≤ 5 min); a callback to 169.254.169.254 → HTTP 400 CALLBACK_URL_FORBIDDEN",
		"zags      SubmitMedicalCertificate  6         5       1",
		"mse       SendReferral              2         2       0",
		"enrichment: POST /api/v1/enrichment/snils", "insurer АО «СК «СОГАЗ-Мед», active true, cached false",
		"asked again → HTTP 200, cached true", "a СНИЛС the registry does not know → HTTP 404 POLICY_NOT_FOUND",
		"referral A: 5 linked (1 flaky)  MSE_REFERRAL_ACCEPTED  delivered", "referral A: 5 linked (1 flaky)  MSE_RESULT_READY       delivered",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q:\n%s", want, s)
		}
	}
	if m := regexp.MustCompile(`callbacks: (\d+) notifications .* (\d+) verified`).FindStringSubmatch(s); m == nil || m[1] == "0" || m[1] != m[2] {
		t.Errorf("every callback must arrive verified: %v", m)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestServeBinaryShutsDownGracefully builds the real binary, serves against a
// real database, and stops it with SIGTERM: it must finish in-flight work and
// exit 0.
func TestServeBinaryShutsDownGracefully(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hub")
	if b, err := exec.Command("go", "build", "-o", bin, "../../cmd/hub").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve")
	caDir := t.TempDir()
	if err := semdgen.WriteTestCA(caDir); err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "DATABASE_URL="+testdb.URL(t), "HUB_LISTEN_ADDR="+addr, "HUB_MIGRATE_ON_START=true", "HUB_TRUSTED_CA_DIR="+caDir)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck
	ready := false
	for i := 0; i < 200 && !ready; i++ {
		res, err := http.Get(fmt.Sprintf("http://%s/readyz", addr))
		if err == nil {
			res.Body.Close()
			ready = res.StatusCode == 200
		}
		if !ready {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !ready {
		t.Fatalf("hub serve never became ready:\n%s", logs.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("hub serve did not stop after SIGTERM:\n%s", logs.String())
	}
	for _, want := range []string{`"msg":"hub serving"`, `"msg":"shutting down"`, `"route":"/readyz"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Fatalf("code %d: %s", code, errOut.String())
	}
	if code := Run(context.Background(), nil, &out, &errOut); code != 0 || !strings.Contains(out.String(), "demo") {
		t.Fatalf("help: %d %s", code, out.String())
	}
}

func TestVerifySignature(t *testing.T) {
	fx := filepath.Join("..", "signature", "fixtures")
	for _, tc := range []struct {
		sig, want string
		code      int
	}{
		{"doctor256.p7s", "OK         GOST R 34.10-2012, 256-bit key", 0},
		{"org512.p7s", "OK         GOST R 34.10-2012, 512-bit key", 0},
		{"expired256.p7s", "REFUSED    DOC_DATE_MISMATCH_CERT_NOT_AFTER", 1},
		{"wrongku256.p7s", "REFUSED    INVALID_CERT_KEY_USAGE", 1},
	} {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), []string{"verify-signature", "-doc", filepath.Join(fx, "doc.xml"), "-sig", filepath.Join(fx, tc.sig), "-ca-dir", fx}, &out, &errOut)
		if code != tc.code || !strings.Contains(out.String(), tc.want) || !strings.Contains(out.String(), "signer     CN=") {
			t.Errorf("%s: exit %d, output:\n%s%s", tc.sig, code, out.String(), errOut.String())
		}
	}
}
