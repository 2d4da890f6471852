package rpc

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/internal/pb"
	"github.com/ferry-p2p/ferry/sdk/record"
)

func peerIDFromBytes(b []byte) (sdk.PeerID, error) {
	var id sdk.PeerID
	if len(b) == 0 {
		return id, nil
	}
	if len(b) != sdk.PeerIDLen {
		return id, fmt.Errorf("peer id of %d bytes, want %d: %w", len(b), sdk.PeerIDLen, sdk.ErrInvalidPeerID)
	}
	copy(id[:], b)
	return id, nil
}

func peerIDToBytes(id sdk.PeerID) []byte {
	if id.IsZero() {
		return nil
	}
	return append([]byte(nil), id[:]...)
}

func infoToProto(i sdk.Info) *pb.InfoResponse {
	out := &pb.InfoResponse{Name: i.Name, Version: i.Version, Capabilities: i.Capabilities, ProtocolId: i.ProtocolID}
	for _, r := range i.Roles {
		out.Roles = append(out.Roles, pb.Role(r))
	}
	for _, v := range i.APIVersions {
		out.ApiVersions = append(out.ApiVersions, int32(v))
	}
	return out
}

func infoFromProto(p *pb.InfoResponse) sdk.Info {
	out := sdk.Info{Name: p.GetName(), Version: p.GetVersion(), Capabilities: p.GetCapabilities(), ProtocolID: p.GetProtocolId()}
	for _, r := range p.GetRoles() {
		out.Roles = append(out.Roles, sdk.Role(r))
	}
	for _, v := range p.GetApiVersions() {
		out.APIVersions = append(out.APIVersions, int(v))
	}
	return out
}

func schemaToProto(s sdk.ConfigSchema) *pb.ConfigSchemaResponse {
	out := &pb.ConfigSchemaResponse{}
	for _, f := range s.Fields {
		out.Fields = append(out.Fields, &pb.ConfigField{Name: f.Name, Type: f.Type, Default: f.Default, Required: f.Required, Doc: f.Doc})
	}
	return out
}

func schemaFromProto(p *pb.ConfigSchemaResponse) sdk.ConfigSchema {
	var out sdk.ConfigSchema
	for _, f := range p.GetFields() {
		out.Fields = append(out.Fields, sdk.ConfigField{Name: f.GetName(), Type: f.GetType(), Default: f.GetDefault(), Required: f.GetRequired(), Doc: f.GetDoc()})
	}
	return out
}

func descToProto(d sdk.Description) *pb.Description {
	return &pb.Description{Transport: d.Transport, Data: d.Data}
}

func descFromProto(p *pb.Description) sdk.Description {
	return sdk.Description{Transport: p.GetTransport(), Data: p.GetData()}
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

func peerInfoToProto(p sdk.PeerInfo) *pb.PeerInfo {
	return &pb.PeerInfo{
		Id: peerIDToBytes(p.ID), Name: p.Name, Addrs: p.Addrs, Transports: p.Transports,
		Protocols: p.Protocols, Roles: p.Roles, Source: p.Source,
		SeenUnixNano: unixNano(p.Seen), ExpiresUnixNano: unixNano(p.Expires),
		Instance: p.Instance, Account: p.Account,
	}
}

func peerInfoFromProto(p *pb.PeerInfo) (sdk.PeerInfo, error) {
	id, err := peerIDFromBytes(p.GetId())
	if err != nil {
		return sdk.PeerInfo{}, err
	}
	return sdk.PeerInfo{
		ID: id, Name: p.GetName(), Addrs: p.GetAddrs(), Transports: p.GetTransports(),
		Protocols: p.GetProtocols(), Roles: p.GetRoles(), Source: p.GetSource(),
		Seen: fromUnixNano(p.GetSeenUnixNano()), Expires: fromUnixNano(p.GetExpiresUnixNano()),
		Instance: p.GetInstance(), Account: p.GetAccount(),
	}, nil
}

func envelopeToProto(e sdk.Envelope) *pb.Envelope {
	return &pb.Envelope{From: peerIDToBytes(e.From), To: peerIDToBytes(e.To), Payload: e.Payload, Instance: e.Instance}
}

func envelopeFromProto(p *pb.Envelope) (sdk.Envelope, error) {
	from, err := peerIDFromBytes(p.GetFrom())
	if err != nil {
		return sdk.Envelope{}, fmt.Errorf("envelope from: %w", err)
	}
	to, err := peerIDFromBytes(p.GetTo())
	if err != nil {
		return sdk.Envelope{}, fmt.Errorf("envelope to: %w", err)
	}
	return sdk.Envelope{From: from, To: to, Payload: p.GetPayload(), Instance: p.GetInstance()}, nil
}

func delegationToProto(d *sdk.Delegation) (*pb.Delegation, error) {
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

func delegationFromProto(p *pb.Delegation) (*sdk.Delegation, error) {
	if p == nil {
		return nil, nil
	}
	if len(p.GetPrivateKey()) != ed25519.SeedSize {
		return nil, fmt.Errorf("delegation seed is %d bytes, want %d", len(p.GetPrivateKey()), ed25519.SeedSize)
	}
	cert, err := sdk.ParseCertificate(p.GetCertificate())
	if err != nil {
		return nil, err
	}
	key := ed25519.NewKeyFromSeed(p.GetPrivateKey())
	if !key.Public().(ed25519.PublicKey).Equal(cert.Key) {
		return nil, fmt.Errorf("%w: delegated key does not match its certificate", sdk.ErrBadCertificate)
	}
	return &sdk.Delegation{Key: key, Cert: cert}, nil
}

func offerToProto(o sdk.Offer) *pb.Offer {
	out := &pb.Offer{TransferId: o.TransferID, Token: o.Token}
	for _, f := range o.Files {
		out.Files = append(out.Files, &pb.FileInfo{Name: f.Name, Size: f.Size, MediaType: f.MediaType, Sha256: f.SHA256, ModTimeUnixNano: unixNano(f.ModTime)})
	}
	return out
}

func offerFromProto(p *pb.Offer) sdk.Offer {
	out := sdk.Offer{TransferID: p.GetTransferId(), Token: p.GetToken()}
	for _, f := range p.GetFiles() {
		out.Files = append(out.Files, sdk.FileInfo{Name: f.GetName(), Size: f.GetSize(), MediaType: f.GetMediaType(), SHA256: f.GetSha256(), ModTime: fromUnixNano(f.GetModTimeUnixNano())})
	}
	return out
}

func recordDirectionToProto(d record.Direction) *pb.RecordDirection {
	return &pb.RecordDirection{Key: d.Key, Iv: d.IV, Seq: d.Seq, Bytes: d.Bytes}
}

func recordDirectionFromProto(d *pb.RecordDirection) record.Direction {
	return record.Direction{Key: d.GetKey(), IV: d.GetIv(), Seq: d.GetSeq(), Bytes: d.GetBytes()}
}

func recordStateToProto(s record.State) *pb.RecordState {
	return &pb.RecordState{
		Write: recordDirectionToProto(s.Write), Read: recordDirectionToProto(s.Read),
		Pending: s.Pending, ReadEnded: s.ReadEnded, WriteEnded: s.WriteEnded,
	}
}

func recordStateFromProto(s *pb.RecordState) record.State {
	return record.State{
		Write: recordDirectionFromProto(s.GetWrite()), Read: recordDirectionFromProto(s.GetRead()),
		Pending: s.GetPending(), ReadEnded: s.GetReadEnded(), WriteEnded: s.GetWriteEnded(),
	}
}
