package workflow

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
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
// URL, queues its delivery — in the caller's transaction.
func (e *Engine) notify(ctx context.Context, tx pgx.Tx, systemID uuid.UUID, event string, subject uuid.UUID, payload any) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	var callback *string
	if err := tx.QueryRow(ctx, `INSERT INTO notifications (id, system_id, event, subject_id, payload) VALUES ($1, $2, $3, $4, $5)
		RETURNING (SELECT callback_url FROM information_systems WHERE id = $2)`, id, systemID, event, subject, b).Scan(&callback); err != nil {
		return fmt.Errorf("workflow: record notification: %w", err)
	}
	if callback != nil && *callback != "" {
		if _, err := e.River.InsertTx(ctx, tx, NotifyArgs{NotificationID: id}, nil); err != nil {
			return err
		}
	}
	return nil
}

type notifyWorker struct {
	river.WorkerDefaults[NotifyArgs]
	e *Engine
}

// SignatureHeader carries hex HMAC-SHA256(secret, timestamp + "." + body):
// the МИС recomputes it with the secret it got at registration.
const (
	SignatureHeader = "X-Hub-Signature"
	TimestampHeader = "X-Hub-Timestamp"
)

// Sign computes the callback signature.
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func (w *notifyWorker) Work(ctx context.Context, job *river.Job[NotifyArgs]) error {
	e := w.e
	var event string
	var subject uuid.UUID
	var payload []byte
	var url *string
	var secret []byte
	var delivered *time.Time
	err := e.Pool.QueryRow(ctx, `SELECT n.event, n.subject_id, n.payload, s.callback_url, s.callback_secret, n.delivered_at
		FROM notifications n JOIN information_systems s ON s.id = n.system_id WHERE n.id = $1`, job.Args.NotificationID).
		Scan(&event, &subject, &payload, &url, &secret, &delivered)
	if err != nil {
		return err
	}
	if delivered != nil || url == nil || *url == "" {
		return nil
	}
	body, _ := json.Marshal(map[string]any{"id": job.Args.NotificationID, "event": event, "subject_id": subject, "data": json.RawMessage(payload)})
	ts := strconv.FormatInt(e.now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, *url, bytes.NewReader(body))
	if err != nil {
		return river.JobCancel(fmt.Errorf("callback URL %q: %w", *url, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, Sign(secret, ts, body))
	cctx, cancel := context.WithTimeout(ctx, e.cfg.SOAPTimeout)
	defer cancel()
	res, callErr := e.soap.HTTPClient.Do(req.WithContext(cctx))
	if callErr == nil {
		res.Body.Close()
		if res.StatusCode >= 300 {
			callErr = fmt.Errorf("callback answered HTTP %d", res.StatusCode)
		}
	}
	if callErr != nil {
		_, _ = e.Pool.Exec(ctx, `UPDATE notifications SET attempts = attempts + 1, last_error = $2 WHERE id = $1`, job.Args.NotificationID, callErr.Error())
		return callErr
	}
	_, err = e.Pool.Exec(ctx, `UPDATE notifications SET attempts = attempts + 1, delivered_at = now(), last_error = NULL WHERE id = $1`, job.Args.NotificationID)
	return err
}
