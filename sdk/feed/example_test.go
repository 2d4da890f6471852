package feed_test

import (
	"context"
	"fmt"

	"github.com/ferry-p2p/ferry/sdk"
	"github.com/ferry-p2p/ferry/sdk/feed"
)

// A discovery plugin keeps one hub for its Watch channels: Watch
// subscribes with the peers known so far, the plugin publishes each
// change, and Close closes every channel.
func ExampleHub() {
	watchers := feed.NewPeerEvents("demo: watch", 16)
	laptop := sdk.PeerInfo{ID: sdk.PeerID{1}, Name: "laptop"}
	table := map[sdk.PeerID]sdk.PeerInfo{laptop.ID: laptop}

	// Watch: the peers known, then the changes.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := watchers.Subscribe(ctx, feed.Known(table, func(p sdk.PeerInfo) sdk.PeerInfo { return p })...)
	if err != nil {
		panic(err)
	}

	ev := <-events
	fmt.Println(ev.Kind, ev.Peer.Name)

	// The plugin hears of a new peer, then the first one leaves. Publish
	// never waits for a reader.
	watchers.Publish(sdk.PeerEvent{Kind: sdk.PeerJoined, Peer: sdk.PeerInfo{ID: sdk.PeerID{2}, Name: "phone"}})
	watchers.Publish(sdk.PeerEvent{Kind: sdk.PeerLeft, Peer: laptop})
	for range 2 {
		ev := <-events
		fmt.Println(ev.Kind, ev.Peer.Name)
	}

	// Close: the channel is closed.
	watchers.Close()
	_, open := <-events
	fmt.Println("open:", open)

	// Output:
	// joined laptop
	// joined phone
	// left laptop
	// open: false
}
