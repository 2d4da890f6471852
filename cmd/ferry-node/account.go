package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-p2p/ferry/core/account"
	"github.com/ferry-p2p/ferry/sdk"
)

func (a *app) accountCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account",
		Short: "An account groups your devices: create, link, list and revoke them",
		Long: `An account is a person, not a device: its own ed25519 key certifies each of
your devices, and others send to the account ID (acct-...) to reach every
device of it. The account key stays on the device that created the account
($FERRY_HOME/account/account.key, mode 0600); other devices hold only their
certificate. Without a subcommand, prints this device's account.`,
		Example: `  ferry account create
  ferry account link                 # on the device holding the account key
  ferry account join 4-ABCD-EFGH     # on the new device
  ferry account devices
  ferry account revoke phone`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.accountShow(cmd, false) },
	}
	cmd.AddCommand(a.accountCreateCommand(), a.accountShowCommand(), a.accountDevicesCommand(), a.accountRevokeCommand(),
		a.accountCertifyCommand(), a.accountInstallCommand())
	cmd.AddCommand(a.accountLinkCommands()...)
	return cmd
}

// accountStore returns the account store of the Ferry home and this
// device's identity.
func (a *app) accountStore(cmd *cobra.Command) (*account.Store, sdk.PeerID, string, error) {
	cfg, err := a.loadConfig(cmd)
	if err != nil {
		return nil, sdk.PeerID{}, "", err
	}
	id, err := a.identity(cfg)
	if err != nil {
		return nil, sdk.PeerID{}, "", err
	}
	return account.OpenStore(cfg.Home()), id.ID, cfg.DeviceName(), nil
}

func (a *app) accountCreateCommand() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an account whose key this device keeps, and certify this device",
		Long: `Create an account: a new ed25519 account key, kept on this device only in
$FERRY_HOME/account/account.key (mode 0600), and a certificate of this device
(valid a year). Prints the account ID, which others use to send to all your
devices. Refused when this device already belongs to an account.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, self, devName, err := a.accountStore(cmd)
			if err != nil {
				return err
			}
			if name == "" {
				name = truncName(devName)
			}
			cert, err := store.Create(self, name, time.Now())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "account %s created; this device (%s, %s) is its first\n", cert.Account, cert.Name, self.Short())
			fmt.Fprintf(out, "the account key is in %s: keep it private and backed up\n", store.Path(account.KeyFile))
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "this device's name in the account (default: device.name)")
	return cmd
}

// truncName cuts a device name to what a certificate holds.
func truncName(s string) string {
	for len(s) > account.MaxNameLen {
		_, size := lastRune(s)
		s = s[:len(s)-size]
	}
	return s
}

func lastRune(s string) (rune, int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return rune(s[i]), len(s) - i
		}
	}
	return 0, 1
}

func (a *app) accountShowCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print this device's account and certificate",
		Long: `Print this device's account ID on the first line, then its certificate
(name, issue and expiry) and whether this device holds the account key. With
--json, one object: account, device, name, issued, expires, holds_key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.accountShow(cmd, asJSON) },
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// accountView is this device's account as `ferry account show --json`
// prints it.
type accountView struct {
	Account  account.ID `json:"account"`
	Device   sdk.PeerID `json:"device"`
	Name     string     `json:"name"`
	Issued   time.Time  `json:"issued"`
	Expires  time.Time  `json:"expires"`
	HoldsKey bool       `json:"holds_key"`
}

func (a *app) accountShow(cmd *cobra.Command, asJSON bool) error {
	store, _, _, err := a.accountStore(cmd)
	if err != nil {
		return err
	}
	c, err := store.Certificate()
	if err != nil {
		return err
	}
	v := accountView{Account: c.Account, Device: c.Device, Name: c.Name, Issued: c.Issued.UTC(), Expires: c.Expires.UTC(), HoldsKey: store.HasKey()}
	out := cmd.OutOrStdout()
	if asJSON {
		return jsonLines(out, []accountView{v})
	}
	fmt.Fprintln(out, c.Account)
	key := "no (it is on the device that created the account)"
	if v.HoldsKey {
		key = "yes, in " + store.Path(account.KeyFile)
	}
	fmt.Fprintf(out, "this device: %s (%s), certified %s, expires %s\nholds the account key: %s\n", c.Name, c.Device, v.Issued.Format(time.DateOnly), v.Expires.Format(time.DateOnly), key)
	return nil
}

// deviceView is one device as `ferry account devices --json` prints it.
type deviceView struct {
	Device  sdk.PeerID `json:"device"`
	Name    string     `json:"name"`
	State   string     `json:"state"`
	Issued  time.Time  `json:"issued"`
	Expires time.Time  `json:"expires"`
	This    bool       `json:"this"`
}

func (a *app) accountDevicesCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "devices",
		Short: "List the devices the account certified, with their state",
		Long: `List the devices the account key certified, each with its state: active,
revoked (named by the account's revocation list) or expired. The list is kept
where the account key is; on another device, only this device is listed.
With --json, one object per device: device, name, state, issued, expires,
this.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, self, _, err := a.accountStore(cmd)
			if err != nil {
				return err
			}
			own, err := store.Certificate()
			if err != nil {
				return err
			}
			certs := []*account.Certificate{own}
			if store.HasKey() {
				if certs, err = store.Issued(); err != nil {
					return err
				}
			}
			rev, err := store.Revocations()
			if err != nil {
				return err
			}
			now := time.Now()
			views := make([]deviceView, 0, len(certs))
			for _, c := range certs {
				v := deviceView{Device: c.Device, Name: c.Name, State: "active", Issued: c.Issued.UTC(), Expires: c.Expires.UTC(), This: c.Device == self}
				switch {
				case rev.Revoked(c.Device):
					v.State = "revoked"
				case !now.Before(c.Expires):
					v.State = "expired"
				}
				views = append(views, v)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return jsonLines(out, views)
			}
			fmt.Fprintf(out, "account %s\n", own.Account)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDEVICE\tSTATE\tEXPIRES")
			for _, v := range views {
				name := v.Name
				if v.This {
					name += " (this device)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, v.Device, v.State, v.Expires.Format(time.DateOnly))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON lines")
	return cmd
}

func (a *app) accountRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke DEVICE",
		Short: "Revoke a device of the account (on the device holding the account key)",
		Long: `Revoke a device: its peer ID, a unique prefix of one, or its name in the
account. The account's revocation list gets a new version naming it, signed
with the account key; every device of the account announces the newest list
it knows, and a peer that has seen it refuses the revoked device as sender and
as receiver from then on.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, self, _, err := a.accountStore(cmd)
			if err != nil {
				return err
			}
			key, err := store.Key()
			if err != nil {
				return err
			}
			issued, err := store.Issued()
			if err != nil {
				return err
			}
			dev, name, err := matchDevice(issued, args[0])
			if err != nil {
				return err
			}
			if dev == self {
				return errors.New("that is this device, which holds the account key: the key holder cannot revoke itself")
			}
			prev, err := store.Revocations()
			if err != nil {
				return err
			}
			r, err := account.Revoke(key, prev, dev, time.Now())
			if err != nil {
				return err
			}
			if _, err := store.SaveRevocations(r); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s (%s): revocation list v%d; peers learn it from the next announcement of any device of the account\n", name, dev, r.Version)
			return nil
		},
	}
}

// matchDevice finds a device among the issued certificates by peer ID,
// unique ID prefix or name.
func matchDevice(certs []*account.Certificate, q string) (sdk.PeerID, string, error) {
	if id, err := sdk.ParsePeerID(q); err == nil {
		for _, c := range certs {
			if c.Device == id {
				return id, c.Name, nil
			}
		}
		return id, "a device this key did not certify", nil
	}
	norm := func(s string) string { return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s)) }
	var found []*account.Certificate
	for _, c := range certs {
		if strings.EqualFold(c.Name, q) || (q != "" && strings.HasPrefix(norm(c.Device.String()), norm(q))) {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 1:
		return found[0].Device, found[0].Name, nil
	case 0:
		return sdk.PeerID{}, "", fmt.Errorf("no device of the account matches %q (ferry account devices lists them)", q)
	}
	var names []string
	for _, c := range found {
		names = append(names, fmt.Sprintf("%s (%s)", c.Name, c.Device.Short()))
	}
	return sdk.PeerID{}, "", fmt.Errorf("%q matches %d devices: %s", q, len(found), strings.Join(names, ", "))
}

func (a *app) accountCertifyCommand() *cobra.Command {
	var (
		name  string
		valid time.Duration
	)
	cmd := &cobra.Command{
		Use:   "certify PEER-ID --name NAME",
		Short: "Certify a device by its peer ID, by hand (on the device holding the account key)",
		Long: `Certify the device PEER-ID (what "ferry id" prints there) as a device of the
account, and print the certificate as one line of base64 for "ferry account
install" on that device. It is the manual form of "ferry account link", for
devices that cannot meet over the LAN or the DHT; the peer ID must have come
over a channel you trust.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dev, err := sdk.ParsePeerID(args[0])
			if err != nil {
				return err
			}
			store, _, _, err := a.accountStore(cmd)
			if err != nil {
				return err
			}
			key, err := store.Key()
			if err != nil {
				return err
			}
			c, err := account.Issue(key, dev, name, time.Now(), valid)
			if err != nil {
				return err
			}
			if err := store.SaveIssued(c); err != nil {
				return err
			}
			b, err := c.MarshalBinary()
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), base64.StdEncoding.EncodeToString(b))
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the device's name in the account (REQUIRED)")
	cmd.Flags().DurationVar(&valid, "valid-for", account.DefaultValidity, "how long the certificate is valid")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func (a *app) accountInstallCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "install CERTIFICATE",
		Short: "Install this device's certificate printed by ferry account certify",
		Long: `Install the certificate "ferry account certify" printed for this device. It
must certify this device's peer ID, be signed by the account it names and be
valid now; it then replaces any certificate this device had.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(args[0]))
			if err != nil {
				return fmt.Errorf("certificate: not base64: %w", err)
			}
			c, err := account.ParseCertificate(raw)
			if err != nil {
				return err
			}
			store, self, _, err := a.accountStore(cmd)
			if err != nil {
				return err
			}
			return installCertificate(cmd, store, self, c)
		},
	}
}

// installCertificate checks c for this device and stores it.
func installCertificate(cmd *cobra.Command, store *account.Store, self sdk.PeerID, c *account.Certificate) error {
	if c.Device != self {
		return fmt.Errorf("%w: the certificate is for %s, this device is %s", account.ErrWrongDevice, c.Device, self)
	}
	if err := c.VerifySelf(time.Now()); err != nil {
		return err
	}
	if old, err := store.Certificate(); err == nil && old.Account != c.Account && store.HasKey() {
		return fmt.Errorf("this device holds the key of account %s; it cannot join %s", old.Account, c.Account)
	}
	if err := store.SaveCertificate(c); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "this device (%s) is now %q in account %s, until %s\n", self.Short(), c.Name, c.Account, c.Expires.UTC().Format(time.DateOnly))
	return nil
}
