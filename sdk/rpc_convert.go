package sdk

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/ferry-p2p/ferry/sdk/internal/pb"
)

func peerIDFromBytes(b []byte) (PeerID, error) {
	var id PeerID
	if len(b) == 0 {
		return id, nil
	}
	if len(b) != PeerIDLen {
		return id, fmt.Errorf("peer id of %d bytes, want %d: %w", len(b), PeerIDLen, ErrInvalidPeerID)
	}
	copy(id[:], b)
	return id, nil
}

func peerIDToBytes(id PeerID) []byte {
	if id.IsZero() {
		return nil
	}
	return append([]byte(nil), id[:]...)
}

func infoToProto(i Info) *pb.InfoResponse {
	out := &pb.InfoResponse{Name: i.Name, Version: i.Version, Capabilities: i.Capabilities, ProtocolId: i.ProtocolID}
	for _, r := range i.Roles {
		out.Roles = append(out.Roles, pb.Role(r))
	}
	for _, v := range i.APIVersions {
		out.ApiVersions = append(out.ApiVersions, int32(v))
	}
	return out
}

func infoFromProto(p *pb.InfoResponse) Info {
	out := Info{Name: p.GetName(), Version: p.GetVersion(), Capabilities: p.GetCapabilities(), ProtocolID: p.GetProtocolId()}
	for _, r := range p.GetRoles() {
		out.Roles = append(out.Roles, Role(r))
	}
	for _, v := range p.GetApiVersions() {
		out.APIVersions = append(out.APIVersions, int(v))
	}
	return out
}

func schemaToProto(s ConfigSchema) *pb.ConfigSchemaResponse {
	out := &pb.ConfigSchemaResponse{}
	for _, f := range s.Fields {
		out.Fields = append(out.Fields, &pb.ConfigField{Name: f.Name, Type: f.Type, Default: f.Default, Required: f.Required, Doc: f.Doc})
	}
	return out
}

func schemaFromProto(p *pb.ConfigSchemaResponse) ConfigSchema {
	var out ConfigSchema
	for _, f := range p.GetFields() {
		out.Fields = append(out.Fields, ConfigField{Name: f.GetName(), Type: f.GetType(), Default: f.GetDefault(), Required: f.GetRequired(), Doc: f.GetDoc()})
	}
	return out
}

func descToProto(d Description) *pb.Description {
	return &pb.Description{Transport: d.Transport, Data: d.Data}
}

func descFromProto(p *pb.Description) Description {
	return Description{Transport: p.GetTransport(), Data: p.GetData()}
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func peerInfoToProto(p PeerInfo) *pb.PeerInfo {
	return &pb.PeerInfo{
		Id: peerIDToBytes(p.ID), Name: p.Name, Addrs: p.Addrs, Transports: p.Transports,
		Protocols: p.Protocols, Roles: p.Roles, Source: p.Source,
		SeenUnixNano: unixNano(p.Seen), ExpiresUnixNano: unixNano(p.Expires),
	}
}

func peerInfoFromProto(p *pb.PeerInfo) (PeerInfo, error) {
	id, err := peerIDFromBytes(p.GetId())
	if err != nil {
		return PeerInfo{}, err
	}
	return PeerInfo{
		ID: id, Name: p.GetName(), Addrs: p.GetAddrs(), Transports: p.GetTransports(),
		Protocols: p.GetProtocols(), Roles: p.GetRoles(), Source: p.GetSource(),
		Seen: fromUnixNano(p.GetSeenUnixNano()), Expires: fromUnixNano(p.GetExpiresUnixNano()),
	}, nil
}

func envelopeToProto(e Envelope) *pb.Envelope {
	return &pb.Envelope{From: peerIDToBytes(e.From), To: peerIDToBytes(e.To), Payload: e.Payload}
}

func envelopeFromProto(p *pb.Envelope) (Envelope, error) {
	from, err := peerIDFromBytes(p.GetFrom())
	if err != nil {
		return Envelope{}, fmt.Errorf("envelope from: %w", err)
	}
	to, err := peerIDFromBytes(p.GetTo())
	if err != nil {
		return Envelope{}, fmt.Errorf("envelope to: %w", err)
	}
	return Envelope{From: from, To: to, Payload: p.GetPayload()}, nil
}

func delegationToProto(d *Delegation) (*pb.Delegation, error) {
	if d == nil {
		return nil, nil
	}
	if len(d.Key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("delegation key is %d bytes, want %d", len(d.Key), ed25519.PrivateKeySize)
	}
	cert, err := d.Cert.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &pb.Delegation{PrivateKey: d.Key.Seed(), Certificate: cert}, nil
}

func delegationFromProto(p *pb.Delegation) (*Delegation, error) {
	if p == nil {
		return nil, nil
	}
	if len(p.GetPrivateKey()) != ed25519.SeedSize {
		return nil, fmt.Errorf("delegation seed is %d bytes, want %d", len(p.GetPrivateKey()), ed25519.SeedSize)
	}
	cert, err := ParseCertificate(p.GetCertificate())
	if err != nil {
		return nil, err
	}
	key := ed25519.NewKeyFromSeed(p.GetPrivateKey())
	if !key.Public().(ed25519.PublicKey).Equal(cert.Key) {
		return nil, fmt.Errorf("%w: delegated key does not match its certificate", ErrBadCertificate)
	}
	return &Delegation{Key: key, Cert: cert}, nil
}
