package workflow

import (
	"context"

	"github.com/emdhub/hub/internal/store"
)

// ApplyTransition exposes transition to the table-driven test.
func (e *Engine) ApplyTransition(ctx context.Context, q store.DBTX, t *Transition, args ...any) (int64, error) {
	return e.transition(ctx, q, t, args...)
}
