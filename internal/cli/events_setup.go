package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sagefence/sagefence/internal/events"
	"github.com/sagefence/sagefence/internal/iostreams"
)

// The set-up that feeds CloudTrail events to watch: printed, never
// deployed by sagefence itself (it changes nothing in AWS).

var eventsSetupFormats = []string{"cloudformation", "terraform"}

type eventsSetupOptions struct {
	IO     *iostreams.IOStreams
	Format string
	Org    bool
	Output string
}

func newEventsSetupCmd(ios *iostreams.IOStreams, runF func(*eventsSetupOptions) error) *cobra.Command {
	o := &eventsSetupOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "events-setup --format cloudformation|terraform",
		Short: "Print the EventBridge rules and SQS queue that feed CloudTrail events to sagefence watch",
		Long: fmt.Sprintf(`events-setup prints what sagefence watch needs to rescan within seconds of a
change: EventBridge rules matching the %d CloudTrail API calls that can change a
notebook's verdict (notebook lifecycle and tags, routes, gateways, security
group rules, the notebook's network interface, network ACLs, subnets, VPC
endpoints, peering, transit gateways, prefix lists), an SQS queue with a
dead-letter queue, and a queue policy that admits only those rules. Failed
calls are not sent. Nothing is deployed: apply the output yourself.

Where to deploy it:
  without --org  in the account watch scans, in every region it watches, with
                 the same HomeRegion (home_region in Terraform). The copy in
                 that region holds the queue; the others forward their events
                 to it. Leave HomeRegion empty to watch one region.
  with --org     in every account and region of the organization (a
                 CloudFormation StackSet, or Terraform per account and region)
                 and in the central account, with the same OrganizationId,
                 CentralAccountId and HomeRegion. The central account's home
                 region holds the queue and an event bus that only the
                 organization's accounts may send to; every other account and
                 region forwards to that bus.

EventBridge receives these calls only where a CloudTrail trail logs
management events (an organization trail covers every account). Delivery is
best effort: watch's scheduled full scans still catch what an event misses.

Then start watch on the queue, with the QueueUrl output (queue_url in
Terraform):
  sagefence watch --queue-url https://sqs.eu-west-1.amazonaws.com/111122223333/%s

Exit codes: 0 printed, 2 usage error, 3 the set-up could not be rendered or
the --output file could not be written.`,
			len(events.Names()), events.QueueName),
		Example: `  sagefence events-setup --format cloudformation > sagefence-events.yaml
  aws cloudformation deploy --template-file sagefence-events.yaml --stack-name sagefence-events \
      --capabilities CAPABILITY_IAM --parameter-overrides HomeRegion=eu-west-1
  sagefence events-setup --format terraform --org --output sagefence-events.tf`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Format = strings.ToLower(strings.TrimSpace(o.Format))
			switch {
			case o.Format == "":
				return usageErrf("--format is required: %s", strings.Join(eventsSetupFormats, " or "))
			case !slices.Contains(eventsSetupFormats, o.Format):
				return usageErrf("--format %q: want %s", o.Format, strings.Join(eventsSetupFormats, " or "))
			}
			if err := checkOutputFile("--output", o.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return runEventsSetup(o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Format, "format", "", "output: "+strings.Join(eventsSetupFormats, " or ")+" (required)")
	f.BoolVar(&o.Org, "org", false, "for an organization: member accounts forward to an event bus in the central account")
	f.StringVarP(&o.Output, "output", "o", "", "write to this file instead of stdout")
	return cmd
}

func runEventsSetup(o *eventsSetupOptions) error {
	render := events.CloudFormation
	if o.Format == "terraform" {
		render = events.Terraform
	}
	out, err := render(o.Org)
	if err != nil {
		return &exitError{code: ExitIncomplete, err: fmt.Errorf("render the %s set-up: %w", o.Format, err)}
	}
	return writeOut(o.IO, o.Output, func(w io.Writer) error {
		_, err := w.Write(out)
		return err
	})
}
