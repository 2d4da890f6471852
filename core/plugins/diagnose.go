package plugins

import (
	"context"
	"fmt"

	"github.com/ferry-p2p/ferry/sdk"
)

// Diagnose starts the instance if needed and runs its checks
// (sdk.Diagnoser). A plugin without checks gives an error wrapping
// sdk.ErrUnsupported.
func (i *Instance) Diagnose(ctx context.Context) ([]sdk.Check, error) {
	p, err := i.current(ctx)
	if err != nil {
		return nil, err
	}
	d, ok := p.(sdk.Diagnoser)
	if !ok {
		return nil, fmt.Errorf("instance %q: no checks: %w", i.cfg.Name, sdk.ErrUnsupported)
	}
	checks, err := d.Diagnose(ctx, sdk.DiagnoseRequest{})
	if err != nil {
		return nil, fmt.Errorf("instance %q: diagnose: %w", i.cfg.Name, err)
	}
	return checks, nil
}
