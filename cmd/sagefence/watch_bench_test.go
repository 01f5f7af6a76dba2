package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/sagefence/sagefence/internal/testenv"
)

// BenchmarkWatchEventToAlert measures sagefence watch's event-to-alert
// latency against moto, from the SQS send of a CloudTrail event to the
// webhook's receipt of the alert it causes, with --debounce 0 (the window
// is excluded). Each iteration adds or deletes the NAT route under one
// notebook and sends the event: every event flips the notebook, so every
// event yields exactly one alert. Run with -benchtime 100x; it reports the
// median and p99 over the iterations.
//
//	go test ./cmd/sagefence -run '^$' -bench WatchEventToAlert -benchtime 100x
func BenchmarkWatchEventToAlert(b *testing.B) {
	m := moto.ForTest(b)
	ctx := context.Background()
	c := clientsFor(m.URL(), "us-east-1")
	net, err := testenv.CreateNetwork(ctx, c.ec2, "10.0.0.0/16")
	if err != nil {
		b.Fatal(err)
	}
	open, err := testenv.CreateSecurityGroup(ctx, c.ec2, net.VPCID, testenv.SecurityGroup{Name: "open"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := testenv.CreateNotebook(ctx, c.sm, testenv.Notebook{Name: "flip-nb", DirectInternetAccess: "Disabled",
		SubnetID: net.IsolatedSubnetID, SecurityGroupIDs: []string{open}}); err != nil {
		b.Fatal(err)
	}
	q := newQueue(b, m.URL())

	var mu sync.Mutex
	received := make(chan time.Time, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		mu.Lock()
		defer mu.Unlock()
		select {
		case received <- at:
		default:
			b.Error("a second alert for one event")
		}
	}))
	defer hook.Close()

	w := startWatch(b, m.URL(), "--regions", "us-east-1", "--db", filepath.Join(b.TempDir(), "w.db"), "--queue-url", q.url,
		"--debounce", "0", "--alert-webhook", hook.URL, "--interval", "1h")
	eventually(b, "/readyz", time.Minute, func() bool { code, _ := w.get("/readyz"); return code == http.StatusOK })

	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		name := "CreateRoute"
		if i%2 == 0 {
			err = testenv.AddRoute(ctx, c.ec2, net.IsolatedRouteTableID, "0.0.0.0/0", net.NATGatewayID)
		} else {
			name = "DeleteRoute"
			_, err = c.ec2.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: aws.String(net.IsolatedRouteTableID), DestinationCidrBlock: aws.String("0.0.0.0/0")})
		}
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		sent := time.Now()
		q.send(b, cloudTrailEvent("ec2.amazonaws.com", name, "bench-"+time.Now().Format("150405.000000"), alice))
		select {
		case at := <-received:
			lat = append(lat, at.Sub(sent))
		case <-time.After(time.Minute):
			b.Fatalf("no alert within a minute of event %d", i)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	b.ReportMetric(float64(p(0.5).Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(p(0.99).Microseconds())/1000, "ms-p99")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "ms-max")
	b.Logf("%d events: median %v, p99 %v, min %v, max %v", len(lat), p(0.5), p(0.99), lat[0], lat[len(lat)-1])
	if code := w.stop(); code != 0 {
		b.Errorf("SIGTERM: exit %d", code)
	}
}
