package rpc

import (
	"context"
	"fmt"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/internal/pb"
)

// Diagnose runs the plugin's checks when it implements sdk.Diagnoser, and
// answers sdk.ErrUnsupported (UNIMPLEMENTED) when it does not.
func (s *baseServer) Diagnose(ctx context.Context, req *pb.DiagnoseRequest) (*pb.DiagnoseResponse, error) {
	d, ok := s.impl.(sdk.Diagnoser)
	if !ok {
		return nil, toStatus(fmt.Errorf("diagnose: this plugin has no checks: %w", sdk.ErrUnsupported))
	}
	checks, err := d.Diagnose(ctx, sdk.DiagnoseRequest{})
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &pb.DiagnoseResponse{Checks: make([]*pb.Check, 0, len(checks))}
	for _, c := range checks {
		resp.Checks = append(resp.Checks, &pb.Check{Name: c.Name, Status: int32(c.Status), Detail: c.Detail, Facts: c.Facts})
	}
	return resp, nil
}

var _ sdk.Diagnoser = (*Client)(nil)

// Diagnose runs the plugin's checks; a plugin without any answers an
// error wrapping sdk.ErrUnsupported.
func (c *Client) Diagnose(ctx context.Context, _ sdk.DiagnoseRequest) ([]sdk.Check, error) {
	resp, err := c.base.Diagnose(ctx, &pb.DiagnoseRequest{})
	if err != nil {
		return nil, fromStatus(ctx, c.done, "diagnose", err)
	}
	out := make([]sdk.Check, 0, len(resp.GetChecks()))
	for _, m := range resp.GetChecks() {
		st := sdk.CheckStatus(m.GetStatus())
		if st < sdk.CheckOK || st > sdk.CheckFail {
			st = sdk.CheckFail
		}
		out = append(out, sdk.Check{Name: m.GetName(), Status: st, Detail: m.GetDetail(), Facts: m.GetFacts()})
	}
	return out, nil
}
