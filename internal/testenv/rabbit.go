package testenv

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// DeleteRabbitTopology deletes queues and exchanges a test declared on the
// test RabbitMQ. It retries for a while, since other suites on the machine
// restart the broker, and only logs what it could not delete.
func DeleteRabbitTopology(t testing.TB, rawURL string, queues []string, exchanges ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := func() error {
			conn, err := amqp.Dial(rawURL)
			if err != nil {
				return err
			}
			defer conn.Close()
			ch, err := conn.Channel()
			if err != nil {
				return err
			}
			for len(queues) > 0 {
				// Deleting a missing queue succeeds; any error is the connection's.
				if _, err := ch.QueueDelete(queues[0], false, false, false); err != nil {
					return err
				}
				queues = queues[1:]
			}
			for len(exchanges) > 0 {
				if err := ch.ExchangeDelete(exchanges[0], false, false); err != nil {
					return err
				}
				exchanges = exchanges[1:]
			}
			return nil
		}()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Logf("cleanup of RabbitMQ queues %v: %v", queues, err)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}
