package dht

import "time"

// InjectRecord puts raw, a record that must validate, into p's table as
// if a neighbour had handed it over.
func (p *Plugin) InjectRecord(raw []byte) error {
	sr, err := DecodeRecord(raw)
	if err != nil {
		return err
	}
	if err := verifyRecord(Key(sr.Record.ID), sr, time.Now()); err != nil {
		return err
	}
	p.learn(sr, raw, time.Now())
	return nil
}
