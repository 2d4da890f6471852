// Package dht is Ferry's DHT discovery and signaling plugin.
package dht
