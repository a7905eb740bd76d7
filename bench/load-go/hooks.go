package main

import (
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// connectionHook feeds a client's connects and disconnects into a shared count.
type connectionHook struct{ c *connections }

func (h connectionHook) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err == nil {
		h.c.connected()
	}
}

func (h connectionHook) OnBrokerDisconnect(kgo.BrokerMetadata, net.Conn) { h.c.disconnected() }
