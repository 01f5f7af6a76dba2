// Package watch runs sagefence continuously: a full scan at start and
// every interval, event-driven rescans of the account-regions CloudTrail
// events name between them, each scan recorded in the history, alerts on
// transitions only, and the state served over HTTP with metrics.
package watch
