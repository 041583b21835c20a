package workflow

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/emdhub/hub/internal/netguard"
	"github.com/emdhub/hub/internal/store"
)

// Events told to a МИС (the notifications outbox; callbacks carry them).
const (
	EventReferralIncomplete = "mse.referral.incomplete"
	EventReferralSent       = "mse.referral.sent"
	EventReferralFailed     = "mse.referral.failed"
	EventReferralReturned   = "mse.referral.returned"
	EventResultReady        = "mse.result.ready"
)

// notify records an event for a system and, if the system has a callback
// URL, queues its delivery — in the caller's transaction (into jobs when
// the step batches its jobs, see jobBatch).
func (e *Engine) notify(ctx context.Context, tx pgx.Tx, jobs *jobBatch, systemID uuid.UUID, event string, subject uuid.UUID, payload any) error {
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("workflow: notification id: %w", err)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("workflow: notification %s payload: %w", event, err)
	}
	callback, err := store.CreateNotification(ctx, tx, id, systemID, event, subject, b)
	if err != nil {
		return fmt.Errorf("workflow: notify %s: %w", event, err)
	}
	if callback != "" {
		if err := e.queue(ctx, tx, jobs, NotifyArgs{NotificationID: id}, nil); err != nil {
			return fmt.Errorf("workflow: callback of %s: %w", event, err)
		}
	}
	return nil
}

type notifyWorker struct {
	river.WorkerDefaults[NotifyArgs]
	e *Engine
}

// Callback headers. SignatureHeader carries hex HMAC-SHA256(secret,
// timestamp + "." + body) with the system's current secret; for
// store.CallbackSecretGrace after a rotation PreviousSignatureHeader
// carries the same with the previous secret, so a receiver still holding
// the old secret keeps verifying until it deploys the new one.
const (
	SignatureHeader         = "X-Hub-Signature"
	PreviousSignatureHeader = "X-Hub-Signature-Previous"
	TimestampHeader         = "X-Hub-Timestamp"
)

// Sign computes the callback signature.
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// callbackSender holds the address policy and the guarded HTTP client
// for callbacks, built once from the engine's config.
type callbackSender struct {
	once   sync.Once
	policy *netguard.Policy
	client *http.Client
}

func (e *Engine) callbackSender() *callbackSender {
	cs := &e.callbacks
	cs.once.Do(func() {
		cs.policy = &netguard.Policy{Allow: e.cfg.CallbackAllowCIDRs, AllowHTTP: e.cfg.CallbackAllowHTTP}
		cs.client = cs.policy.Client(e.cfg.SOAPTimeout)
	})
	return cs
}

// CallbackPolicy is the address policy callback URLs pass: the API checks
// a URL with it when it is set, the notify queue again on every connection.
func (e *Engine) CallbackPolicy() *netguard.Policy { return e.callbackSender().policy }

// Delivery failure categories besides netguard's: the URL itself is no
// longer acceptable (set before the policy, or the operator tightened it).
const categoryForbiddenURL = "forbidden_url"

func (w *notifyWorker) Work(ctx context.Context, job *river.Job[NotifyArgs]) error {
	e := w.e
	n, err := store.GetNotificationToSend(ctx, e.Pool, job.Args.NotificationID)
	if err != nil {
		return err
	}
	event, subject, payload, url, secret, previous := n.Event, n.SubjectID, n.Payload, n.CallbackUrl, n.CallbackSecret, n.PreviousSecret
	delivered := n.DeliveredAt
	if delivered != nil || url == nil || *url == "" {
		return nil
	}
	cs := e.callbackSender()
	if _, _, err := cs.policy.ParseURL(*url); err != nil {
		return w.failed(ctx, job, categoryForbiddenURL, err)
	}
	body, _ := json.Marshal(map[string]any{"id": job.Args.NotificationID, "event": event, "subject_id": subject, "data": json.RawMessage(payload)})
	ts := strconv.FormatInt(e.now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, *url, bytes.NewReader(body))
	if err != nil {
		return w.failed(ctx, job, categoryForbiddenURL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, Sign(secret, ts, body))
	if previous != nil {
		req.Header.Set(PreviousSignatureHeader, Sign(previous, ts, body))
	}
	cctx, cancel := context.WithTimeout(ctx, e.cfg.SOAPTimeout)
	defer cancel()
	res, err := cs.client.Do(req.WithContext(cctx))
	if err != nil {
		return w.failed(ctx, job, netguard.Category(err), err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // lets the connection be reused
	res.Body.Close()
	if res.StatusCode >= 300 { // redirects are not followed: a 3xx is a failure too
		return w.failed(ctx, job, fmt.Sprintf("http_%d", res.StatusCode), nil)
	}
	return store.NotificationDelivered(ctx, e.Pool, job.Args.NotificationID)
}

// failed records a failed attempt. Only the category is stored and
// returned to River (whose job errors operators read): raw dial errors
// would tell which of the hub's neighbours' ports are open. The raw error
// goes to the debug log. A forbidden URL or address is not retried.
func (w *notifyWorker) failed(ctx context.Context, job *river.Job[NotifyArgs], category string, cause error) error {
	e := w.e
	if err := store.NotificationFailed(ctx, e.Pool, job.Args.NotificationID, category); err != nil {
		return fmt.Errorf("workflow: %w", err)
	}
	if cause != nil {
		e.Log.Debug("callback delivery failed", slog.String("notification_id", job.Args.NotificationID.String()),
			slog.String("category", category), slog.Any("error", cause))
	}
	err := errors.New("callback delivery failed: " + category)
	if category == categoryForbiddenURL || category == netguard.CategoryForbidden {
		return river.JobCancel(err)
	}
	return err
}
