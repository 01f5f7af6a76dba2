package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sagefence/sagefence/internal/control"
)

const defaultOpenThreshold = "/8,/32"

const openThresholdHelp = "egress is open (FAIL) when it reaches more public addresses than one IPv4 `PREFIX` holds (an allowlist within it is controlled egress); /N for IPv4, optionally ,/M for IPv6 (default IPv6: /N+24)"

// parseOpenThreshold reads --open-threshold: "/8", "8", or "/8,/32" (IPv4
// then IPv6 prefix lengths). Without an IPv6 part the IPv6 threshold keeps
// the same share of the space as the default does: /N+24.
func parseOpenThreshold(s string) (v4, v6 int, err error) {
	bad := func(why string) (int, int, error) {
		return 0, 0, usageErrf("--open-threshold %q: %s (for example /8, or /8,/32 for IPv4 and IPv6)", s, why)
	}
	parts := strings.Split(strings.TrimSpace(s), ",")
	if len(parts) > 2 {
		return bad("at most an IPv4 and an IPv6 prefix length")
	}
	lens := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(p), "/"))
		if err != nil {
			return bad(fmt.Sprintf("%q is not a prefix length", p))
		}
		lens[i] = n
	}
	v4 = lens[0]
	if v4 < 1 || v4 > 32 {
		return bad("the IPv4 prefix length must be 1 to 32")
	}
	v6 = min(v4+24, 128)
	if len(lens) == 2 {
		v6 = lens[1]
		if v6 < 1 || v6 > 128 {
			return bad("the IPv6 prefix length must be 1 to 128")
		}
	}
	return v4, v6, nil
}

// newEvaluator is the control for --control-profile and --open-threshold;
// either flag's bad value is a usage error.
func newEvaluator(profile, threshold string) (*control.Evaluator, error) {
	v4, v6, err := parseOpenThreshold(threshold)
	if err != nil {
		return nil, err
	}
	ev, err := control.New(control.Options{Profile: profile, OpenV4Bits: v4, OpenV6Bits: v6})
	if err != nil {
		return nil, usageErr(err)
	}
	return ev, nil
}
