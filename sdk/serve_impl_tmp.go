package sdk

func serve(p Plugin) { panic("rpc layer not written yet") }
