// Command pion_lk is a LiveKit data-track participant on pion/webrtc v4 (the
// versions livekit-server v1.13.5 builds with): the server's own stack on both
// ends, so that bench/e2e/e2e.mjs can measure the server's forwarding ceiling
// next to our elements. It joins over LiveKit's v1 signalling, publishes or
// subscribes one data track, and speaks bench/e2e/peer_protocol.h's commands.
// Settings come from LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET.
//
//	pion_lk send|recv --room R --identity I --track T [--participant P (recv)]
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "send" && os.Args[1] != "recv") {
		usage()
	}
	role := os.Args[1]
	flags := flag.NewFlagSet(role, flag.ExitOnError)
	roomName := flags.String("room", "", "room to join")
	identity := flags.String("identity", "", "our identity")
	track := flags.String("track", "", "data track name")
	publisher := flags.String("participant", "", "the publisher's identity (recv)")
	flags.Parse(os.Args[2:])
	if *roomName == "" || *identity == "" || *track == "" || (role == "recv" && *publisher == "") {
		usage()
	}
	r, err := connect(settings{url: os.Getenv("LIVEKIT_URL"), apiKey: os.Getenv("LIVEKIT_API_KEY"),
		apiSecret: os.Getenv("LIVEKIT_API_SECRET"), room: *roomName, identity: *identity})
	if err != nil {
		fail("join: %v", err)
	}
	if role == "send" {
		s, err := r.publish(*track)
		if err != nil {
			fail("publish: %v", err)
		}
		serveSender(s.push)
		s.drain(5 * time.Second)
	} else {
		a := newArrivals()
		if err := r.subscribe(*publisher, *track, a.record); err != nil {
			fail("subscribe: %v", err)
		}
		a.serve()
	}
	r.close()
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: %s send|recv --room R --identity I --track T [--participant P]\n", os.Args[0])
	os.Exit(2)
}
